"""Recovery study: personalise synthetic patients whose truth is known and check calibration.

For each seed: :func:`exerpain.patient.synthetic.simulate_patient` (``weeks`` of diary and
14 held-back days), :func:`exerpain.patient.personalise.personalise`, then

- coverage: the share of held-back days whose reported rating lies within the 50% and 90%
  predictive intervals of the continued plan (target for 90%: 80-97% over patients; the
  ratings are integers, so intervals that end on an integer include it);
- priming mechanism: the true one (exact Shapley attribution of the true parameters under
  the same plan; the entry view, and the pathway view with ``--pathway``, about 3 times the
  work) and the probability the posterior and the population prior give it.

``python -m exerpain.patient.recovery --patients 50 --out recovery.json`` (about 1 minute per
patient with the fast option on 2 CPU cores).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from exerpain.patient.history import GUIDELINE, plan
from exerpain.patient.inference import NotConvergedError
from exerpain.patient.personalise import VIEWS, personalise, priming_probability
from exerpain.patient.synthetic import simulate_patient
from exerpain.precision import enable_globally
from exerpain.storage import to_json

WEEKS = 10


def recover(seed: int, condition: str = "dpn", method: str = "laplace", weeks: int = WEEKS,
            attribution: int = 8, pathway: bool = False) -> dict:
    """One synthetic patient's recovery figures."""
    started = time.perf_counter()
    synthetic = simulate_patient(condition, seed, weeks)
    truth = synthetic.truth
    try:
        summary, fitted = personalise(synthetic.record, condition, method, seed,
                                      attribution=attribution, pathway=pathway)
    except NotConvergedError as err:
        return {"seed": seed, "converged": False, "diagnostics": err.diagnostics}
    bands = {row["day"]: row for row in summary["prediction"]["continued"]}
    held = [(row["pain"], bands[row["day"]]) for row in truth["held_back"]
            if row["day"] in bands]
    inside90 = [b["lower90"] <= y <= b["upper90"] for y, b in held]
    inside50 = [b["lower50"] <= y <= b["upper50"] for y, b in held]
    pm = fitted.pm
    primed = fitted.plans["continued"] or GUIDELINE
    phases = plan(pm.data, primed, float(pm.data.days + 56))
    theta = np.array([*truth["z"], truth["placebo_u"]])[None, :]
    true_share, _ = priming_probability(pm, theta, phases, seed, pathway)
    out = {"seed": seed, "converged": True, "days_held_back": len(held),
           "inside90": int(sum(inside90)), "inside50": int(sum(inside50)),
           "runtime_s": time.perf_counter() - started,
           "diagnostics": summary["diagnostics"]}
    for view, key in VIEWS.items():
        if view not in true_share or key not in summary:
            continue
        mechanism = max(true_share[view], key=lambda k: true_share[view][k])
        out[f"{view}_true_mechanism"] = mechanism
        out[f"{view}_posterior_mass"] = summary[key][mechanism]
        out[f"{view}_prior_mass"] = summary[f"prior_{key}"][mechanism]
    return out


def aggregate(rows: list[dict]) -> dict:
    done = [r for r in rows if r["converged"]]
    days = sum(r["days_held_back"] for r in done)
    out = {"patients": len(rows), "converged": len(done),
           "coverage90": sum(r["inside90"] for r in done) / days if days else None,
           "coverage50": sum(r["inside50"] for r in done) / days if days else None,
           "held_back_days": days,
           "mean_runtime_s": float(np.mean([r["runtime_s"] for r in done])) if done else None}
    for view in VIEWS:
        post = [r[f"{view}_posterior_mass"] for r in done if f"{view}_posterior_mass" in r]
        prior = [r[f"{view}_prior_mass"] for r in done if f"{view}_prior_mass" in r]
        if post:
            out[f"{view}_mean_posterior_mass_true"] = float(np.mean(post))
            out[f"{view}_mean_prior_mass_true"] = float(np.mean(prior))
            out[f"{view}_true_mechanisms"] = {
                m: sum(1 for r in done if r.get(f"{view}_true_mechanism") == m)
                for m in sorted({r.get(f"{view}_true_mechanism") for r in done} - {None})}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=50)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--condition", default="dpn")
    parser.add_argument("--method", default="laplace")
    parser.add_argument("--attribution", type=int, default=8,
                        help="posterior and prior draws attributed per patient")
    parser.add_argument("--pathway", action="store_true",
                        help="the pathway view's priming mechanism too")
    parser.add_argument("--out", default="recovery.json")
    args = parser.parse_args()
    enable_globally()  # this program owns its process
    rows = []
    for seed in range(args.first_seed, args.first_seed + args.patients):
        rows.append(recover(seed, args.condition, args.method, attribution=args.attribution,
                            pathway=args.pathway))
        result = {"settings": vars(args), "summary": aggregate(rows), "patients": rows}
        with open(args.out, "w") as f:  # rewritten after each patient (a long run)
            f.write(to_json(result) + "\n")
        print(f"patient {seed}: {rows[-1].get('inside90')}/{rows[-1].get('days_held_back')} "
              f"inside 90%; {to_json(result['summary'])}", flush=True)


if __name__ == "__main__":
    main()
