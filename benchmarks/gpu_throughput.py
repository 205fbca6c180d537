"""Benchmark: cohort engine throughput on an accelerator against the same engine on the same
machine's CPU, in one run.

The scenario is :mod:`throughput`'s (virtual DPN patients, one-year aerobic programme,
exercise and sedentary run per subject, every subject on the shipped MAP values). The
baseline is the engine forced onto the host CPU (``JAX_PLATFORMS=cpu``, a subprocess, chunks
of 1,000 subjects as on a CPU by default; ``--no-cpu`` skips it). On the accelerator, the
issue's targets first, in this order: N = 100,000 in one chunk (one compiled batch); N =
1,000,000 in chunks of 100,000 (no new compile); exact attribution (both views) at N =
1,000, 10,000 and 100,000; N = 1,000,000 in the default chunking (chunks of 8
stiffness-ordered batches); N = 100,000 with the default 16 posterior draws. A stage whose
time, predicted from an earlier stage's rate, exceeds what is left of ``--budget-s`` is
skipped and listed. Each ratio is accelerator subjects/s over CPU subjects/s from the same
run; the benefits of the first 50 subjects are compared between the two backends. The JSON
is rewritten after each stage, so a run cut short keeps what it measured.

    python benchmarks/gpu_throughput.py [out.json] [--budget-s 420] [--smoke] [--no-cpu]

``--smoke`` divides every N by 1,000: a check of the script itself on any machine.
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
COMPARED = 50  # engine_run keeps the first SCIPY_SUBJECTS (50) benefits
SMOKE_SCALE = 1000


def _row(result: dict) -> dict:
    benefit = result.pop("benefit")
    result["benefit_first"] = [float(b) for b in benefit[:COMPARED]]
    return result


def cpu_baseline() -> None:
    """Subprocess entry: the engine on the host CPU; prints one JSON row."""
    scale = SMOKE_SCALE if "--smoke" in sys.argv else 1
    row = _row(engine_run(max(4, CPU_N // scale), attribution=False, repeats=1,
                          chunk_size=max(4, CPU_CHUNK // scale)))
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
    no_cpu = "--no-cpu" in argv  # no CPU baseline (no ratios): for a short device lease
    smoke = "--smoke" in argv  # every N / SMOKE_SCALE: a check of the script on any machine
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
    proc = None if no_cpu else subprocess.run([sys.executable, __file__, "--cpu-baseline"]
                          + (["--smoke"] if smoke else []), env=env,
                          capture_output=True, text=True, check=False)
    line = None if proc is None else next(
        (x for x in proc.stdout.splitlines() if x.startswith("CPU_ROW ")), None)
    if line is None:
        results["cpu_baseline_error"] = ("skipped (--no-cpu)" if proc is None
                                         else proc.stderr[-2000:])
    else:
        results["cpu_baseline"] = json.loads(line[len("CPU_ROW "):])
    save()

    scale = SMOKE_SCALE if smoke else 1

    def n_(n: int) -> int:
        return max(4, n // scale)

    # the targets first: a million subject-years without attribution (in chunks of
    # 100,000 = one batch, and in the default chunking = 8 stiffness-ordered batches of
    # 125,000), then exact attribution (both views) at 1,000 and 10,000 subjects and, when
    # the 10,000 rate says it fits the budget, at 100,000
    stages = [  # (name, engine_run options, the stage whose rate predicts this one's time)
        ("n100k_chunk100k", dict(n=n_(100_000), attribution=False, chunk_size=n_(100_000),
                                 memory_gb=48), None),
        ("n1m_chunk100k", dict(n=n_(1_000_000), attribution=False, chunk_size=n_(100_000),
                               memory_gb=48, warm_only=True), "n100k_chunk100k"),
        ("n1k_attribution", dict(n=n_(1000), attribution=True, memory_gb=48), None),
        ("n10k_attribution", dict(n=n_(10_000), attribution=True, chunk_size=n_(1000),
                                  memory_gb=48, warm_only=True), "n1k_attribution"),
        ("n100k_attribution", dict(n=n_(100_000), attribution=True, chunk_size=n_(1000),
                                   memory_gb=48, warm_only=True), "n10k_attribution"),
        ("n1m_default_chunking", dict(n=n_(1_000_000), attribution=False, memory_gb=48),
         "n1m_chunk100k"),
        ("n100k_draws16_chunk100k", dict(n=n_(100_000), attribution=False,
                                         chunk_size=n_(100_000), memory_gb=48,
                                         posterior_draws=16), "n100k_chunk100k"),
    ]
    cpu = results["cpu_baseline"]
    rates: dict[str, float] = {}
    for name, options, predictor in stages:
        left = budget - (time.perf_counter() - start)
        if predictor is not None and predictor not in rates:
            results["stages_skipped"].append(f"{name} (no {predictor} rate)")
            continue
        if predictor is not None:  # a first call runs twice and may compile (~35 s)
            runs = 1 if options.get("warm_only") else 2
            expected = runs * options["n"] / rates[predictor] + (0 if runs == 1 else 35)
            if expected > left:
                results["stages_skipped"].append(f"{name} (expected {expected:.0f} s, "
                                                  f"{left:.0f} s left)")
                continue
        elif left < 0:
            results["stages_skipped"].append(name)
            continue
        row = _row(engine_run(**options, repeats=1))  # its time budget counts one warm run
        row["stage"] = name
        rates[name] = row["subjects_per_s"]
        row["seconds_per_million_subject_years"] = 1e6 / row["subject_years_per_s"]
        if cpu is not None:
            row["speedup_vs_cpu_engine"] = row["subjects_per_s"] / cpu["subjects_per_s"]
        if cpu is not None and not row["posterior_draws"]:  # draws: other subjects
            k = min(len(row["benefit_first"]), len(cpu["benefit_first"]))
            a = np.asarray(row["benefit_first"][:k])
            b = np.asarray(cpu["benefit_first"][:k])
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
