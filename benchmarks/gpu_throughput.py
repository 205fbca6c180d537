"""Benchmark: cohort engine throughput on an accelerator against the same engine on the same
machine's CPU, in one run.

The scenario is :mod:`throughput`'s (virtual DPN patients, one-year aerobic programme,
exercise and sedentary run per subject, every subject on the shipped MAP values). The
baseline is the engine forced onto the host CPU (``JAX_PLATFORMS=cpu``, a subprocess, chunks
of 1,000 subjects as on a CPU by default); the accelerator runs N = 10,000 in one chunk, then
N = 100,000 in chunks of 10,000 (no new compile) and in one chunk of 100,000, then exact
attribution (both views) at N = 1,000, N = 1,000,000 in chunks of 100,000, the default 16
posterior draws at N = 100,000 and attribution at N = 10,000. Each ratio is accelerator
subjects/s over CPU subjects/s from the same run; the benefit of the first 1,000 subjects is
compared between the two backends. Stages run in that order while ``--budget-s`` lasts; the
JSON is rewritten after each stage, so a run cut short keeps what it measured.

    python benchmarks/gpu_throughput.py [out.json] [--budget-s 420]
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import jax
import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from throughput import CONDITION, DAYS, PROTOCOL, engine_run  # noqa: E402

from exerpain.simulate.engine import ENGINE_ATOL, ENGINE_RTOL, device_description  # noqa: E402

CPU_N, CPU_CHUNK = 2000, 1000
COMPARED = 1000


def _row(result: dict) -> dict:
    benefit = result.pop("benefit")
    result["benefit_first"] = [float(b) for b in benefit[:COMPARED]]
    return result


def cpu_baseline() -> None:
    """Subprocess entry: the engine on the host CPU; prints one JSON row."""
    row = _row(engine_run(CPU_N, attribution=False, chunk_size=CPU_CHUNK))
    row["device"] = device_description()
    row["cpus"] = os.cpu_count()
    print("CPU_ROW " + json.dumps(row))


def main() -> None:
    if "--cpu-baseline" in sys.argv:
        cpu_baseline()
        return
    argv = sys.argv[1:]
    budget = 420.0
    if "--budget-s" in argv:
        i = argv.index("--budget-s")
        budget = float(argv[i + 1])
        argv = argv[:i] + argv[i + 2:]
    args = [a for a in argv if not a.startswith("--")]
    out = Path(args[0]) if args else Path(__file__).parent / "results" / "gpu_throughput.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    results: dict = {
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                    "device": device_description(), "jax": jax.__version__},
        "scenario": {"condition": CONDITION, "protocol": PROTOCOL, "days": DAYS,
                     "rtol": ENGINE_RTOL, "atol": ENGINE_ATOL},
        "cpu_baseline": None, "accelerator": [], "stages_skipped": [],
    }

    def save() -> None:
        results["elapsed_s"] = time.perf_counter() - start
        out.write_text(json.dumps(results, indent=2) + "\n")

    env = dict(os.environ, JAX_PLATFORMS="cpu")
    proc = subprocess.run([sys.executable, __file__, "--cpu-baseline"], env=env,
                          capture_output=True, text=True, check=False)
    line = next((x for x in proc.stdout.splitlines() if x.startswith("CPU_ROW ")), None)
    if line is None:
        results["cpu_baseline_error"] = proc.stderr[-2000:]
    else:
        results["cpu_baseline"] = json.loads(line[len("CPU_ROW "):])
    save()

    stages = [
        ("n10k_chunk10k", dict(n=10_000, attribution=False, chunk_size=10_000, memory_gb=48)),
        ("n100k_chunk10k", dict(n=100_000, attribution=False, chunk_size=10_000, memory_gb=48,
                                warm_only=True)),
        ("n100k_chunk100k", dict(n=100_000, attribution=False, chunk_size=100_000,
                                 memory_gb=48)),
        ("n1k_attribution", dict(n=1000, attribution=True, memory_gb=48)),
        ("n1m_chunk100k", dict(n=1_000_000, attribution=False, chunk_size=100_000,
                               memory_gb=48, warm_only=True)),
        ("n100k_draws16_chunk100k", dict(n=100_000, attribution=False, chunk_size=100_000,
                                         memory_gb=48, posterior_draws=16)),
        ("n10k_attribution", dict(n=10_000, attribution=True, chunk_size=334, memory_gb=48,
                                  warm_only=True)),
    ]
    cpu = results["cpu_baseline"]
    for name, options in stages:
        if time.perf_counter() - start > budget:
            results["stages_skipped"].append(name)
            continue
        row = _row(engine_run(**options))
        row["stage"] = name
        if cpu is not None:
            row["speedup_vs_cpu_engine"] = row["subjects_per_s"] / cpu["subjects_per_s"]
        if cpu is not None and not row["posterior_draws"]:  # draws: other subjects
            a = np.asarray(row["benefit_first"])
            b = np.asarray(cpu["benefit_first"][:len(a)])
            row["max_rel_diff_benefit_vs_cpu"] = float(np.max(np.abs(a - b) / np.abs(b)))
        row.pop("benefit_first")
        results["accelerator"].append(row)
        save()
        print(json.dumps(row), flush=True)
    if cpu is not None:
        cpu.pop("benefit_first", None)
    save()
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
