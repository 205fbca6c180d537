"""Benchmark: what a user waits for at the command line.

- ``exerpain --help`` and ``--version`` (no JAX import; median of 5);
- ``exerpain simulate`` (CCI, treadmill) and ``exerpain cohort`` (DPN, aerobic, n = 200)
  twice each in a fresh data directory: the first call compiles and fills JAX's persistent
  compilation cache, the second of the same shape loads the executables from it. The
  baseline is the first call of the same run; the ratio is second / first.

Each command is a new process, as a user runs it. Writes JSON to
``benchmarks/results/cli_startup.json`` (or the path given as the first argument).

    python benchmarks/cli_startup.py [out.json]
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EXE = Path(sys.executable).with_name("exerpain")
COMMANDS = {
    "simulate": ["simulate", "--condition", "cci", "--protocol", "treadmill-moderate",
                 "--json"],
    "cohort": ["cohort", "--condition", "dpn", "--protocol", "aerobic-moderate", "--n", "200",
               "--seed", "1", "--json"],
}


def timed(args: list[str], env: dict) -> float:
    start = time.perf_counter()
    subprocess.run([str(EXE), *args], env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "results" / \
        "cli_startup.json"
    with tempfile.TemporaryDirectory() as data:
        env = {**os.environ, "EXERPAIN_DATA_DIR": data}
        env.pop("EXERPAIN_CACHE_DIR", None)
        result = {name: statistics.median(timed(args, env) for _ in range(5))
                  for name, args in (("help_s", ["--help"]), ("version_s", ["--version"]))}
        for name, args in COMMANDS.items():
            first, second = timed(args, env), timed(args, env)
            result[name] = {"first_s": first, "second_s": second, "ratio": second / first}
            print(f"{name}: first {first:.1f} s, second {second:.1f} s "
                  f"({second / first:.2f}x)", flush=True)
    result["machine"] = {"platform": platform.platform(), "cpus": os.cpu_count()}
    print(f"--help {result['help_s']:.2f} s, --version {result['version_s']:.2f} s")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
