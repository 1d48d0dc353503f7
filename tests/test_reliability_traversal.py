"""R7 over REST: hostile job and log names in the URL (``..``, absolute, percent-encoded twice,
NUL, backslashes) reach the job routes of an in-process server, which answers 400 or 404 and
touches no file outside the root's jobs directory (Python audit hooks record every file
operation). ``test_jobs_names.py`` covers the same names through the Python API, and links."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

from test_jobs_names import HOSTILE, AuditRecorder
from test_server_security import Fetch, call, fetch, jp_server_config  # noqa: F401 (fixtures)

# The empty name is the list route itself ("jobs/"), not a job: it is tried in the POST body.
NAMES = [*(n for n in HOSTILE if n), "..%2f..%2fetc%2fpasswd", "%252e%252e", "..\\..\\x", "a%00b"]


def routes(name: str) -> list[tuple[str, str, Any]]:
    encoded = quote(name, safe="")
    return [
        ("GET", f"mrsm/api/jobs/{encoded}", None),
        ("GET", f"mrsm/api/jobs/{encoded}/logs?lines=5", None),
        ("GET", f"mrsm/api/jobs/{encoded}/logs/ws", None),
        ("DELETE", f"mrsm/api/jobs/{encoded}", None),
        ("POST", f"mrsm/api/jobs/{encoded}/start", "{}"),
        ("POST", "mrsm/api/jobs", json.dumps({"name": name, "command": ["true"]})),
    ]


async def test_hostile_job_names_over_rest_touch_nothing_outside(jp_serverapp: Any, fetch: Fetch) -> None:  # noqa: F811
    root = Path(os.environ["MRSM_JUPYTER_ROOT"]).resolve()
    recorder = AuditRecorder()
    answers = []
    with recorder.recording():
        for name in NAMES:
            for method, path, body in routes(name):
                answer = await call(fetch, method, path, body=body)
                answers.append((method, path, answer.code))
    created = await call(fetch, "POST", "mrsm/api/jobs", body=json.dumps({"name": "", "command": ["true"]}))
    answers.append(("POST", "mrsm/api/jobs", created.code))
    unexpected = [a for a in answers if a[2] not in (400, 404)]
    assert unexpected == [], unexpected
    assert len(answers) == len(NAMES) * 6 + 1
    assert recorder.outside([root]) == []
