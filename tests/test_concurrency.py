"""R3: one pipe synced from two threads, two processes and two kernels at once: no lost commits, no
duplicate keys, no raw engine error reaching the user."""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import mrsm_jupyter as mrsm

T0 = datetime(2024, 1, 1, tzinfo=UTC)
BATCHES = 6
ROWS = 40


def batch(worker: int, round_: int) -> pd.DataFrame:
    """Half the keys are shared by both workers, half are the worker's own."""
    shared = [(T0 + timedelta(minutes=round_ * ROWS + i), 0) for i in range(ROWS // 2)]
    own = [(T0 + timedelta(minutes=round_ * ROWS + i), worker + 1) for i in range(ROWS // 2)]
    keys = shared + own
    return pd.DataFrame(
        {
            "dt": [k[0] for k in keys],
            "id": [k[1] for k in keys],
            "value": [float(worker * 1000 + round_)] * len(keys),
        }
    )


def sync_rounds(instance: str, metric: str, worker: int) -> int:
    pipe = mrsm.Pipe("test", metric, instance=instance, columns={"datetime": "dt", "id": "id"})
    inserted = 0
    for round_ in range(BATCHES):
        inserted += pipe.sync(batch(worker, round_)).inserted
    return inserted


def check_table(instance: str, metric: str, inserted: int) -> None:
    pipe = mrsm.Pipe("test", metric, instance=instance)
    df = pipe.get_data()
    expected_keys = BATCHES * ROWS // 2 * 3  # shared keys once, each worker's own keys
    assert len(df) == expected_keys
    assert not df.duplicated(["dt", "id"]).any()
    assert inserted == expected_keys  # every key inserted exactly once across both workers
    assert len(mrsm.get_pipes(metric_keys=metric, instance=instance, as_list=True)) == 1


def test_two_threads_sync_one_pipe(instance: str, metric: str) -> None:
    results: list[int] = []
    errors: list[BaseException] = []

    def run(worker: int) -> None:
        try:
            results.append(sync_rounds(instance, metric, worker))
        except BaseException as exc:  # surfaced below with its type
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(w,)) for w in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    check_table(instance, metric, sum(results))


def _process_main(
    env: dict[str, str], instance: str, metric: str, worker: int, out: multiprocessing.Queue
) -> None:  # type: ignore[type-arg]
    os.environ.update(env)
    try:
        out.put(sync_rounds(instance, metric, worker))
    except BaseException as exc:
        out.put(f"{type(exc).__name__}: {exc}")


@pytest.mark.parametrize("flavor", ["duckdb", "sqlite", "postgresql", "mariadb"])
def test_two_processes_sync_one_pipe(flavor: str, instance_uris: dict[str, str], metric: str) -> None:
    label = f"proc{flavor}"
    os.environ[f"MRSM_SQL_{label.upper()}"] = instance_uris[flavor]
    instance = f"sql:{label}"
    env = {k: v for k, v in os.environ.items() if k.startswith("MRSM_")}
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    procs = [ctx.Process(target=_process_main, args=(env, instance, metric, w, out)) for w in (0, 1)]
    for p in procs:
        p.start()
    answers = [out.get(timeout=180) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    assert all(isinstance(a, int) for a in answers), answers
    check_table(instance, metric, sum(answers))  # type: ignore[arg-type]


KERNEL_CODE = """
import sys
sys.path.insert(0, {tests!r})
from test_concurrency import sync_rounds
print("inserted", sync_rounds({instance!r}, {metric!r}, {worker}))
"""


def _kernel_answer(client: Any, msg_id: str) -> str:
    """The stream output of one execution; its error (name: value) if it raised."""
    out = []
    while True:
        msg = client.get_iopub_msg(timeout=180)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream":
            out.append(content["text"])
        elif kind == "error":
            out.append(f"{content['ename']}: {content['evalue']}")
        elif kind == "status" and content["execution_state"] == "idle":
            return "".join(out)


@pytest.fixture
def kernels() -> Iterator[list[Any]]:
    """Two real IPython kernels (ipykernel, started by jupyter_client) with this checkout."""
    from jupyter_client.manager import start_new_kernel  # noqa: PLC0415 (jupyter is an extra)

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    started = [start_new_kernel(kernel_name="python3", env=env) for _ in range(2)]
    yield [client for _, client in started]
    for manager, client in started:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def test_two_kernels_sync_one_pipe(kernels: list[Any], instance_uris: dict[str, str]) -> None:
    tests = str(Path(__file__).parent)
    for flavor in ("duckdb", "sqlite", "postgresql", "mariadb"):
        label, metric = f"kernel{flavor}", f"m{uuid.uuid4().hex[:10]}"
        define = f"import os; os.environ['MRSM_SQL_{label.upper()}'] = {instance_uris[flavor]!r}"
        os.environ[f"MRSM_SQL_{label.upper()}"] = instance_uris[flavor]
        ids = []
        for worker, client in enumerate(kernels):
            code = KERNEL_CODE.format(tests=tests, instance=f"sql:{label}", metric=metric, worker=worker)
            ids.append(client.execute(define + "\n" + code))
        answers = [_kernel_answer(client, msg_id) for client, msg_id in zip(kernels, ids, strict=True)]
        assert all(a.startswith("inserted ") for a in answers), (flavor, answers)
        check_table(f"sql:{label}", metric, sum(int(a.split()[1]) for a in answers))
