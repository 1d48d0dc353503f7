"""Time ``%load_ext mrsm_jupyter`` in fresh interpreters and real kernels (target: 0.3 s).

Usage: ``.venv/bin/python bench/load_ext.py [--repeats 5]``; prints medians.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

from jupyter_client.manager import start_new_kernel

SHELL_CODE = (
    "import time\n"
    "from IPython.core.interactiveshell import InteractiveShell\n"
    "ip = InteractiveShell.instance()\n"
    "t = time.perf_counter()\n"
    "ip.run_line_magic('load_ext', 'mrsm_jupyter')\n"
    "print(time.perf_counter() - t)\n"
)


def in_shell() -> float:
    out = subprocess.run([sys.executable, "-c", SHELL_CODE], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def in_kernel() -> float:
    manager, client = start_new_kernel(kernel_name="python3")
    try:
        started = time.perf_counter()
        client.execute_interactive("%load_ext mrsm_jupyter", timeout=60)
        return time.perf_counter() - started
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    shell = statistics.median(in_shell() for _ in range(args.repeats))
    kernel = statistics.median(in_kernel() for _ in range(args.repeats))
    print(f"| where | median of {args.repeats} |\n|---|---|")
    print(f"| fresh IPython shell | {shell * 1000:.1f} ms |")
    print(f"| fresh ipykernel (round trip) | {kernel * 1000:.1f} ms |")


if __name__ == "__main__":
    main()
