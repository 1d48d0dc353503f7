"""Job logs: timestamped lines, rotation at a bounded size, tail across files, follow across rotations."""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path

from mrsm_jupyter.jobs.logs import JobLog

STAMPED = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (.*)$")


def _log(tmp_path: Path, max_bytes: int) -> JobLog:
    return JobLog(tmp_path / "job.log", owner="t", max_bytes=max_bytes)


def test_every_line_is_timestamped(jobs_root: Path) -> None:
    log = JobLog.for_job("stamps", jobs_root)
    log.write("first\nsecond")
    log.write_lines(["third"])
    tail = log.tail(10)
    assert [STAMPED.match(line)[1] for line in tail] == ["first", "second", "third"]  # type: ignore[index]


def test_rotation_keeps_each_file_under_the_bound_and_drops_the_oldest(tmp_path: Path) -> None:
    log = _log(tmp_path, max_bytes=1024)
    for number in range(400):
        log.write(f"line {number:04d} " + "x" * 20)
    sizes = [path.stat().st_size for path in log.paths()]
    assert len(sizes) == 3 and all(0 < size <= 1024 for size in sizes)
    assert not (tmp_path / "job.log.3").exists()
    kept = [STAMPED.match(line)[1].split()[1] for line in log.tail(10_000)]  # type: ignore[index]
    numbers = [int(n) for n in kept]
    assert numbers[-1] == 399
    assert numbers == list(range(numbers[0], 400)), "tail must be contiguous across the rotated files"
    assert numbers[0] > 0, "the oldest lines must have been dropped"


def test_one_large_write_and_one_huge_line_stay_bounded(tmp_path: Path) -> None:
    log = _log(tmp_path, max_bytes=4096)
    log.write("\n".join(f"bulk {i}" for i in range(2000)))
    log.write("y" * 100_000)
    assert all(path.stat().st_size <= 4096 for path in log.paths())
    assert "more bytes cut" in log.tail(1)[0]


def test_tail_before_anything_is_written(tmp_path: Path) -> None:
    log = _log(tmp_path, max_bytes=1024)
    assert log.tail(5) == []
    log.write("only")
    assert len(log.tail(5)) == 1
    assert log.tail(0) == []


def test_follow_sees_every_line_across_rotations(tmp_path: Path) -> None:
    log = _log(tmp_path, max_bytes=2048)
    log.write("before the follow")
    total = 300
    done = threading.Event()

    def writer() -> None:
        for number in range(total):
            log.write(f"n={number}")
            time.sleep(0.001)
        done.set()

    thread = threading.Thread(target=writer)
    follower = log.follow(lines=1, poll_seconds=0.005, stop_when=done.is_set)
    first = next(follower)
    thread.start()
    seen = [STAMPED.match(line)[1] for line in follower]  # type: ignore[index]
    thread.join()
    assert first.endswith("before the follow")
    assert seen == [f"n={number}" for number in range(total)]
    assert (tmp_path / "job.log.2").exists(), "the writer must have rotated for this test to mean anything"
