"""R10: the same instant round-trips under three ``TZ`` settings.

Three processes, each with its own ``TZ`` (a DST zone, a half-hour zone and a 12:45 zone),
sync aware datetimes (in a foreign offset and in a DST zone) and naive ones (taken as UTC)
around DST changes and before the epoch, then read back every row written so far, by any of
them, and count rows from a naive bound. Every process must see every instant unchanged.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime

import mrsm_jupyter as mrsm

ZONES = ["America/New_York", "Asia/Kolkata", "Pacific/Chatham"]
INSTANTS = [
    datetime(2024, 3, 10, 7, 30, tzinfo=UTC),  # New York's missing hour
    datetime(2024, 11, 3, 5, 30, tzinfo=UTC),  # New York's repeated hour, first time
    datetime(2024, 11, 3, 6, 30, tzinfo=UTC),  # ... and second time
    datetime(1969, 12, 31, 23, 59, 59, 123456, tzinfo=UTC),
]
BOUND = "2024-11-03T06:00:00"  # naive: UTC
WRITER = """
import json, sys
from datetime import datetime, timedelta, timezone
import pandas as pd
import mrsm_jupyter as mrsm
metric, worker, instants, bound = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3]), sys.argv[4]
moments = [datetime.fromisoformat(t) for t in instants]
kolkata = timezone(timedelta(hours=5, minutes=30))
answers = {}
for instance in sys.argv[5:]:
    pipe = mrsm.Pipe("tz", metric, instance=instance, columns={"datetime": "dt", "id": "id"})
    pipe.sync(pd.DataFrame({"dt": [t.astimezone(kolkata) for t in moments],
                            "id": [worker * 10 + i for i in range(4)]}))
    pipe.sync(pd.DataFrame({"dt": [pd.Timestamp(t).tz_convert("America/Los_Angeles") for t in moments],
                            "id": [worker * 10 + 4 + i for i in range(4)]}))
    pipe.sync([{"dt": t.replace(tzinfo=None), "id": worker * 10 + 8 + i} for i, t in enumerate(moments[:2])])
    df = pipe.get_data()
    rows = {int(i): pd.Timestamp(dt).tz_convert("UTC").isoformat() for i, dt in zip(df["id"], df["dt"])}
    answers[instance] = {"rows": rows, "since": pipe.get_rowcount(begin=bound)}
print(json.dumps(answers))
"""
FLAVORS = ["duckdb", "sqlite", "postgresql", "mariadb"]


def expected_rows(workers: int) -> dict[str, str]:
    rows = {}
    for w in range(workers):
        for i, t in enumerate(INSTANTS):
            rows[str(w * 10 + i)] = rows[str(w * 10 + 4 + i)] = t.isoformat()
        for i, t in enumerate(INSTANTS[:2]):
            rows[str(w * 10 + 8 + i)] = t.isoformat()
    return rows


def test_instants_round_trip_under_three_time_zones(instance_uris: dict[str, str], metric: str) -> None:
    defined = {f"MRSM_SQL_R10{f.upper()}": instance_uris[f] for f in FLAVORS}
    os.environ.update(defined)
    instances = [f"sql:r10{f}" for f in FLAVORS]
    instants = json.dumps([t.isoformat() for t in INSTANTS])
    bound = datetime.fromisoformat(BOUND).replace(tzinfo=UTC)
    for worker, zone in enumerate(ZONES):
        argv = [sys.executable, "-c", WRITER, metric, str(worker), instants, BOUND, *instances]
        env = {**os.environ, "TZ": zone}
        done = subprocess.run(argv, check=False, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
        answers = json.loads(done.stdout.strip().splitlines()[-1])
        want = expected_rows(worker + 1)
        since = sum(1 for t in want.values() if datetime.fromisoformat(t) >= bound)
        for instance in instances:
            assert answers[instance]["rows"] == want, (zone, instance, answers[instance]["rows"])
            assert answers[instance]["since"] == since, (zone, instance)
    for instance in instances:
        df = mrsm.Pipe("tz", metric, instance=instance).get_data()
        found = {str(i): t.isoformat() for i, t in zip(df["id"], df["dt"], strict=True)}
        assert found == expected_rows(len(ZONES)), instance
