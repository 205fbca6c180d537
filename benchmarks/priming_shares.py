"""The README's priming table: default cohorts of n = 2,000 (seed 1, the default 16 posterior
draws, both attribution views), the share of subjects each mechanism primes with the
summary's 95% interval, the mean benefit, responder rates and lost subjects. Not a timing
benchmark (it runs on any device; the shares do not depend on it).

    python benchmarks/priming_shares.py [out.json] [condition:protocol ...]
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from exerpain.precision import enable_globally
from exerpain.simulate.engine import CohortConfig, device_description, run_cohort

enable_globally()  # a script owns its process: float64 throughout

DEFAULT = ("dpn:aerobic-moderate", "cipn:combined", "cci:treadmill-moderate")
N, SEED = 2000, 1


def _shares(summary: dict, key: str) -> dict:
    shares, interval = summary[key], summary[f"{key}_interval"]
    return {k: {"share": round(v, 4), "ci95": [round(x, 4) for x in interval[k]]}
            for k, v in sorted(shares.items(), key=lambda kv: -kv[1])}


def main() -> None:
    args = sys.argv[1:]
    out = Path(args.pop(0)) if args and args[0].endswith(".json") else \
        Path(__file__).parent / "results" / "priming_shares.json"
    results = {"device": device_description(), "n": N, "seed": SEED, "cohorts": {}}
    out.parent.mkdir(parents=True, exist_ok=True)
    for spec in args or DEFAULT:
        condition, protocol = spec.split(":")
        started = time.perf_counter()
        s = run_cohort(CohortConfig(condition, protocol, n=N, seed=SEED)).summary
        results["cohorts"][spec] = {
            "entry": _shares(s, "priming_mechanism_share"),
            "pathway": _shares(s, "pathway_priming_share"),
            "mean_benefit": s["mean_benefit"], "responder30_rate": s["responder30_rate"],
            "responder50_rate": s["responder50_rate"], "failed": s["failed"],
            "seconds": round(time.perf_counter() - started, 1)}
        print(json.dumps({spec: results["cohorts"][spec]}), flush=True)
        out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
