"""The demo screencast (``docs/screencast/record.py``) renders in CI, so it never goes stale:
a short render (one frame per step, small) through the real JupyterLab and chromium, checked
with ffprobe to be an animated GIF with a frame for each step."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from test_quickstart_lab import CHROMIUM, REPO

SCRIPT = REPO / "docs" / "screencast" / "record.py"
# Four code cells, then the sidebar before and after the job's first syncs.
FRAMES = 4 + 2


def test_the_screencast_renders_an_animated_gif(tmp_path: Path) -> None:
    assert Path(CHROMIUM).exists(), (
        f"No chromium at {CHROMIUM}: install Debian's (`apt-get install -y chromium`)."
    )
    output = tmp_path / "smoke.gif"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MRSM_SQL_", "MRSM_API_"))}
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--output", str(output), "--frames-per-step", "1", "--width", "480"],
        env=env,
        capture_output=True,
        text=True,
        timeout=420,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    assert f"Wrote {output}" in done.stdout
    probe = subprocess.run(
        [
            *("ffprobe", "-v", "error", "-count_frames", "-of", "json", str(output)),
            *(
                "-show_entries",
                "stream=codec_name,width,nb_read_frames",
                "-show_entries",
                "format=format_name",
            ),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    info = json.loads(probe.stdout)
    (stream,) = info["streams"]
    assert info["format"]["format_name"] == "gif" and stream["codec_name"] == "gif"
    assert stream["width"] == 480 and int(stream["nb_read_frames"]) == FRAMES
    assert 10_000 < output.stat().st_size < 1_000_000
