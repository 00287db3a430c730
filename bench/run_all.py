"""Run every benchmark in ``bench/`` one after the other and print their figures (``make bench``).

Benchmarks print numbers; they never pass or fail on speed. Each runs in its own process so one
benchmark's caches, threads or warm-up cannot flatter the next. Extra arguments per script can be
given as ``SCRIPT=ARGS`` (e.g. ``e2e_bench.py="--batch 50000 --no-deliver"``).
"""
from __future__ import annotations

import shlex
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    extra = dict(arg.split("=", 1) for arg in argv if "=" in arg)
    failures = 0
    for script in sorted(HERE.glob("*_bench.py")):
        args = shlex.split(extra.get(script.name, ""))
        print(f"\n=== {script.name} {' '.join(args)}".rstrip(), flush=True)
        start = time.monotonic()
        result = subprocess.run([sys.executable, str(script), *args], check=False)
        print(f"--- {script.name}: exit {result.returncode}, {time.monotonic() - start:.1f} s", flush=True)
        failures += result.returncode != 0
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
