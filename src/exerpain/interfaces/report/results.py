"""The results section of a run's report (:mod:`exerpain.interfaces.report`): for a
simulation, the read-out on the last day, over days and the site pain factors; for a cohort,
the benefit distribution, responder rates, priming-mechanism shares, endotypes and failures;
for a virtual trial, power, arms, the CONSORT flow and the estimate over replicate trials;
for an unknown kind, the summary as recorded.

The figures are drawn from the folder's tables, not from result objects as
:mod:`exerpain.interfaces.figures` draws them (its pair figure needs a
:class:`~exerpain.simulate.pair.PairResult`; its cohort figure has neither the intervals of the
shares nor the report's layout)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from exerpain.interfaces.report.folder import KIND_FILES, RunFolder, as_dict, read_table
from exerpain.interfaces.report.html import (
    COLORS,
    NOT_RECORDED,
    as_float,
    as_pair,
    esc,
    figure_html,
    flatten,
    fmt,
    grid,
    guarded,
    is_finite,
    is_number,
    key_values,
    new_axes,
    note,
    pct,
    recorded,
    section,
    tex_safe,
)

if TYPE_CHECKING:
    import pandas as pd

READOUT_LABELS = {"withdrawal_threshold_g": "von Frey withdrawal threshold (g)",
                  "withdrawal_latency_s": "Hargreaves withdrawal latency (s)",
                  "nrs": "average pain (NRS 0-10)"}
PAIN_SITES = ("peripheral", "spinal", "descending", "central")
"""The site pain factors of a trajectory (columns ``pain_{site}``, dimensionless)."""


# ---------------------------------------------------------------- shared by the kinds


def _readout_label(readout: object) -> str:
    return READOUT_LABELS.get(str(readout), str(readout))


def _functional(title: str, summary: dict) -> str:
    """The table of the functional read-outs per run ("" if the summary has none)."""
    functional = as_dict(summary.get("functional"))
    if not functional:
        return ""
    runs = ("exercise", "sedentary", "healthy")
    return f"<h3>{title}</h3>" + grid(
        ["read-out", *runs],
        [[name, *(as_dict(v).get(k, NOT_RECORDED) for k in runs)]
         for name, v in functional.items()])


def _bins(n: int) -> int:
    """Histogram bins for ``n`` values: twice the square root, 5 to 40."""
    import math

    return min(40, max(5, int(math.sqrt(n)) * 2))


def _failures(reasons: object) -> str:
    if not isinstance(reasons, dict):
        return note(NOT_RECORDED)
    if not reasons:
        return "<p>none</p>"
    return grid(["reason", "subjects"], [[k, v] for k, v in reasons.items()])


# ---------------------------------------------------------------- results: simulate


def _programme_span(ax, summary: dict, last_day: float) -> None:
    detail = as_dict(summary.get("protocol_detail"))
    start = detail.get("start_day")
    if not is_number(start) or detail.get("name") == "sedentary":
        return
    stop = detail.get("stop_day")
    stop = stop if is_number(stop) else last_day
    ax.axvspan(start, stop, color="#999", alpha=0.08, lw=0, label="exercise programme")


def simulate_figures(frame: pd.DataFrame, summary: dict) -> list[str]:
    out = []
    readout = summary.get("readout")
    last_day = float(frame["day"].max())
    if isinstance(readout, str) and readout in frame:
        fig, axes = new_axes(7, 3.4)
        ax = axes[0, 0]
        for run in ("exercise", "sedentary"):
            part = frame[frame["run"] == run]
            ax.plot(part["day"], part[readout], color=COLORS[run], label=run)
        healthy = summary.get("healthy_value")
        if is_number(healthy):
            ax.axhline(healthy, color=COLORS["healthy"], ls="--", lw=1, label="healthy")
        _programme_span(ax, summary, last_day)
        ax.set_xlabel("day")
        ax.set_ylabel(tex_safe(_readout_label(readout)))
        ax.legend(frameon=False, fontsize=8)
        out.append(figure_html(fig, f"{_readout_label(readout)} over days: exercise, "
                                    "sedentary control and health."))
    sites = [s for s in PAIN_SITES if f"pain_{s}" in frame]
    if sites:
        fig, axes = new_axes(7, 4.4, 2, 2, sharex=True)
        for ax, site in zip(axes.flat, sites, strict=False):
            for run in ("exercise", "sedentary"):
                part = frame[frame["run"] == run]
                ax.plot(part["day"], part[f"pain_{site}"], color=COLORS[run], label=run)
            ax.set_title(f"{site}", fontsize=9)
            ax.tick_params(labelsize=8)
        for ax in list(axes.flat)[len(sites):]:
            ax.set_visible(False)
        for ax in axes[-1]:
            ax.set_xlabel("day")
        axes[0, 0].legend(frameon=False, fontsize=8)
        out.append(figure_html(fig, "Site pain factors (dimensionless, 1 in health; their "
                                    "product is the nociceptive drive): exercise vs "
                                    "sedentary."))
    return out


def simulate_results(folder: RunFolder) -> str:
    s = folder.summary
    readout = s.get("readout", NOT_RECORDED)
    rows = [("read-out", _readout_label(readout)), ("day", recorded(s, "days")),
            ("exercise", recorded(s, "exercise_value")),
            ("sedentary", recorded(s, "sedentary_value")),
            ("healthy", recorded(s, "healthy_value")),
            ("benefit (exercise vs sedentary; positive = less pain)", recorded(s, "benefit")),
            ("share of the deficit recovered", recorded(s, "benefit_fraction", pct)),
            ("responder (>=30%)", recorded(s, "responder30")),
            ("responder (>=50%)", recorded(s, "responder50")),
            ("solver status", recorded(s, "status"))]
    parts = ["<h3>On the last day</h3>", key_values(rows)]
    parts.append(_functional("Functional read-outs (last day)", s))
    columns = ["run", "day", str(readout), *(f"pain_{site}" for site in PAIN_SITES)]
    frame, problem = read_table(folder.path, KIND_FILES["simulate"], columns)
    if frame is None:
        parts.append(note(f"No trajectory figures: {problem}."))
    elif not {"run", "day"} <= set(frame.columns) or frame.empty:
        parts.append(note("No trajectory figures: the trajectory has no run/day columns."))
    else:
        parts.append(guarded(simulate_figures, frame, s))
    return "".join(parts)


# ---------------------------------------------------------------- results: cohort


SHARE_VIEWS = {"entry": "priming_mechanism_share", "pathway": "pathway_priming_share"}


def benefit_figure(benefit: pd.Series, summary: dict) -> str:
    import numpy as np

    values = benefit.to_numpy(dtype=float)
    values = values[np.isfinite(values)]
    fig, axes = new_axes(7, 3.2)
    ax = axes[0, 0]
    ax.hist(values, bins=_bins(len(values)), color="#6a8fbf",
            edgecolor="white")
    ax.axvline(0, color="#444", lw=1)
    mean = summary.get("mean_benefit")
    if is_finite(mean):
        ax.axvline(mean, color=COLORS["sedentary"], ls="--", lw=1, label=f"mean {mean:.3g}")
        ax.legend(frameon=False, fontsize=8)
    readout = summary.get("readout", "read-out")
    ax.set_xlabel(tex_safe(f"benefit ({_readout_label(readout)}; positive = less pain)"))
    ax.set_ylabel("subjects")
    return figure_html(fig, f"Benefit of exercise over {len(values)} subjects with an outcome.")


def _share_rows(summary: dict) -> tuple[list[str], list[str], list[list[object]]]:
    views = [v for v, key in SHARE_VIEWS.items() if isinstance(summary.get(key), dict)]
    mechanisms: list[str] = []
    for view in views:
        mechanisms.extend(k for k in summary[SHARE_VIEWS[view]] if k not in mechanisms)
    rows = []
    for m in mechanisms:
        row: list[object] = [m]
        for view in views:
            key = SHARE_VIEWS[view]
            share = summary[key].get(m)
            interval = as_dict(summary.get(f"{key}_interval")).get(m)
            text = pct(share)
            if isinstance(interval, list) and len(interval) == 2:
                text += f" ({pct(interval[0])} to {pct(interval[1])})"
            row.append(text)
        rows.append(row)
    return views, mechanisms, rows


def priming_figure(summary: dict, views: list[str], mechanisms: list[str]) -> str:
    import numpy as np

    fig, axes = new_axes(7, 0.35 * len(mechanisms) + 1.2)
    ax = axes[0, 0]
    y = np.arange(len(mechanisms))
    height = 0.8 / len(views)
    for i, view in enumerate(views):
        key = SHARE_VIEWS[view]
        share = np.array([as_float(summary[key].get(m)) for m in mechanisms])
        intervals = as_dict(summary.get(f"{key}_interval"))
        low = np.array([as_float(as_pair(intervals.get(m))[0]) for m in mechanisms])
        high = np.array([as_float(as_pair(intervals.get(m))[1]) for m in mechanisms])
        err = np.vstack([np.clip(share - low, 0, None), np.clip(high - share, 0, None)])
        err = np.where(np.isfinite(err), err, 0.0)
        ax.barh(y + (i - (len(views) - 1) / 2) * height, np.nan_to_num(share), height,
                xerr=err, color=COLORS.get(view), label=f"{view} view",
                error_kw={"lw": 0.8, "capsize": 2})
    ax.set_yticks(y, [tex_safe(m) for m in mechanisms], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 1.02)
    ax.set_xlabel("share of subjects primed by the mechanism")
    ax.legend(frameon=False, fontsize=8, loc="lower right")
    return figure_html(fig, "Priming-mechanism shares (bars: interval of the share).")


def _endotypes(summary: dict) -> str:
    endotypes = summary.get("endotypes")
    if not isinstance(endotypes, dict):
        return note(f"Endotypes: {NOT_RECORDED} (the run had no attribution).")
    rows = [("groups (k)", recorded(endotypes, "k")),
            ("mean silhouette", recorded(endotypes, "silhouette")),
            ("method", recorded(endotypes, "method"))]
    sizes, profiles = as_dict(endotypes.get("sizes")), as_dict(endotypes.get("profiles"))
    labels = list(dict.fromkeys([*sizes, *profiles]))
    mechanisms = list(dict.fromkeys(m for p in profiles.values() for m in as_dict(p)))
    table = grid(["endotype", "subjects", *mechanisms],
                 [[str(e), sizes.get(e, NOT_RECORDED),
                   *(_round(as_dict(profiles.get(e)).get(m)) for m in mechanisms)]
                  for e in labels]) if labels else ""
    return (key_values(rows) + table + note("Profile: mean Shapley value per mechanism, "
                                            "normalised by the sum of |values| per subject."))


def _round(value: object) -> object:
    return round(value, 3) if is_finite(value) else value


def cohort_results(folder: RunFolder) -> str:
    s = folder.summary
    ci = s.get("benefit_ci95")
    mean = recorded(s, "mean_benefit")
    if isinstance(ci, list) and len(ci) == 2:
        mean += f" (95% CI {fmt(ci[0])} to {fmt(ci[1])})"
    rows = [("read-out", _readout_label(s.get("readout", NOT_RECORDED))),
            ("day", recorded(s, "days")), ("subjects", recorded(s, "n")),
            ("completed", recorded(s, "completed")), ("failed", recorded(s, "failed")),
            ("sex", recorded(s, "sex")), ("seed", recorded(s, "seed")),
            ("mean benefit (positive = less pain)", mean),
            ("SD of benefit", recorded(s, "benefit_sd")),
            ("responders (>=30%)", recorded(s, "responder30_rate", pct)),
            ("responders (>=50%)", recorded(s, "responder50_rate", pct)),
            ("responder status undefined", recorded(s, "responder_undefined")),
            ("rates over", recorded(s, "rates_over"))]
    parts = ["<h3>Outcome</h3>", key_values(rows)]
    frame, problem = read_table(folder.path, KIND_FILES["cohort"], ["benefit", "status"])
    if frame is None or "benefit" not in frame:
        parts.append(note(f"No benefit histogram: {problem or 'no benefit column'}."))
    else:
        parts.append(guarded(benefit_figure, frame["benefit"], s))
    parts.append(_functional("Functional read-outs (cohort means, last day)", s))
    views, mechanisms, share_rows = _share_rows(s)
    parts.append("<h3>Priming mechanisms</h3>")
    if views:
        attribution = as_dict(s.get("attribution"))
        interval = as_dict(attribution.get("share_interval"))
        parts.append(grid(["mechanism", *(f"{v} view share (interval)" for v in views)],
                          share_rows))
        parts.append(note(
            "A subject's priming mechanism is the one that carries most of its benefit "
            f"(attribution {fmt(attribution.get('method', NOT_RECORDED))}, scale "
            f"{fmt(attribution.get('scale', NOT_RECORDED))}); intervals: "
            f"{fmt(interval.get('method', NOT_RECORDED))}, level "
            f"{fmt(interval.get('level', NOT_RECORDED))}."))
        parts.append(guarded(priming_figure, s, views, mechanisms))
    else:
        parts.append(note(f"{NOT_RECORDED}: the run had no attribution."))
    parts.append("<h3>Endotypes</h3>" + _endotypes(s))
    parts.append("<h3>Failures</h3>" + _failures(s.get("failure_reasons")))
    return "".join(parts)


# ---------------------------------------------------------------- results: trial


def _interval(value: object) -> str:
    d = as_dict(value)
    ci = d.get("ci95")
    text = fmt(d.get("mean")) if "mean" in d else NOT_RECORDED
    if isinstance(ci, list) and len(ci) == 2:
        text += f" (95% of trials {fmt(ci[0])} to {fmt(ci[1])})"
    return text


def _dict_grid(first: str, data: dict) -> str:
    """A table of ``{column: {row: value}}`` (e.g. arms by their numbers): one column per key
    of ``data``, one row per entry, rows in first-seen order."""
    rows = list(dict.fromkeys(r for v in data.values() for r in as_dict(v)))
    return grid([first, *data], [[row, *(_shown(as_dict(v).get(row, NOT_RECORDED))
                                          for v in data.values())] for row in rows])


def _shown(value: object) -> object:
    if isinstance(value, dict) and "mean" in value:
        return _interval(value)
    return value


def trial_figure(frame: pd.DataFrame, summary: dict) -> str:
    import numpy as np

    fig, axes = new_axes(7, 3.2)
    ax = axes[0, 0]
    arms = list(dict.fromkeys(frame["arm"].astype(str)))
    for arm in arms:
        values = frame.loc[frame["arm"].astype(str) == arm, "estimate"].to_numpy(float)
        values = values[np.isfinite(values)]
        ax.hist(values, bins=_bins(len(values)), alpha=0.6,
                label=tex_safe(f"{arm} vs {summary.get('control', 'control')}"))
    ax.axvline(0, color="#444", lw=1)
    ax.set_xlabel("estimated difference at the endpoint (NRS points; negative = less pain)")
    ax.set_ylabel("replicate trials")
    ax.legend(frameon=False, fontsize=8)
    return figure_html(fig, f"The estimate over {len(frame)} replicate comparisons: the range "
                            "a single trial's result falls in.")


def trial_results(folder: RunFolder) -> str:
    s = folder.summary
    power = recorded(s, "power", pct)
    if is_number(s.get("power_mc_se")):
        power += f" (Monte Carlo SE {pct(s['power_mc_se'])})"
    rows = [("design", recorded(s, "design")), ("condition", recorded(s, "condition")),
            ("replicate trials", recorded(s, "replicates")),
            ("randomised per trial", recorded(s, "n_randomised")),
            ("endpoint day", recorded(s, "endpoint_day")), ("alpha", recorded(s, "alpha")),
            ("estimator", recorded(s, "estimator")),
            ("missing data", recorded(s, "missing_data")),
            ("null (arms identical)", recorded(s, "null")),
            ("primary comparison", f"{fmt(s.get('primary_comparison', NOT_RECORDED))} vs "
                                   f"{fmt(s.get('control', NOT_RECORDED))}"),
            ("power", power), ("difference", _interval(s.get("difference"))),
            ("SMD", _interval(s.get("smd")))]
    parts = ["<h3>Primary comparison</h3>", key_values(rows)]
    if isinstance(s.get("n_per_arm"), dict):
        n = s["n_per_arm"]
        parts.append("<h3>Sample size</h3>" + key_values([
            ("target power", recorded(s, "target_power", pct)),
            ("n per arm", f"{fmt(n.get('estimate'))} (95% {fmt(n.get('ci95'))}; "
                          f"{fmt(n.get('method', NOT_RECORDED))})"),
            ("power by n per arm", fmt(s.get("power_search", NOT_RECORDED)))]))
    comparisons = as_dict(s.get("comparisons"))
    if comparisons:
        parts.append("<h3>Comparisons with the control</h3>" + _dict_grid("", comparisons))
    arms = as_dict(s.get("arms"))
    if arms:
        parts.append("<h3>Arms (means over replicate trials)</h3>" + _dict_grid("", arms))
    consort = as_dict(s.get("consort"))
    parts.append("<h3>CONSORT flow (per trial, mean over replicates)</h3>")
    if consort:
        parts.append(key_values([("screened", recorded(consort, "screened_per_trial")),
                                 ("randomised", recorded(consort, "randomised_per_trial"))]))
        if as_dict(consort.get("arms")):
            parts.append(_dict_grid("", consort["arms"]))
    else:
        parts.append(note(NOT_RECORDED))
    frame, problem = read_table(folder.path, KIND_FILES["trial"], ["arm", "estimate"])
    if frame is None or not {"arm", "estimate"} <= set(frame.columns) or frame.empty:
        parts.append(note(f"No replicate figure: {problem or 'no estimates'}."))
    else:
        parts.append(guarded(trial_figure, frame, s))
    failed = s.get("failed_patients")
    parts.append(f"<h3>Failures</h3><p>patients whose simulation failed: {esc(fmt(failed))}"
                 "</p>" if failed is not None else "<h3>Failures</h3>")
    parts.append(_failures(s.get("failure_reasons")))
    return "".join(parts)


# ---------------------------------------------------------------- the section


RESULTS: dict[str, Callable[[RunFolder], str]] = {
    "simulate": simulate_results, "cohort": cohort_results, "trial": trial_results}


def results_section(folder: RunFolder) -> str:
    """The results of the run, by its kind."""
    if folder.summary_problem:
        body = note(f"No results: {folder.summary_problem}.")
    elif folder.kind in RESULTS:
        body = RESULTS[folder.kind](folder)
    else:
        body = (note(f"Run kind {folder.kind or NOT_RECORDED}: its summary as recorded.")
                + key_values((k, fmt(v)) for k, v in flatten(folder.summary)))
    return section("Results", body, "results")


