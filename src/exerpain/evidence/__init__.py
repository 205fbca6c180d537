"""The evidence base: published studies, effect sizes and mechanism findings on exercise and
neuropathic pain, shipped as validated tables, with random-effects meta-analysis and forest
plots.

    from exerpain.evidence import load_outcomes, pool_outcome
    pool_outcome(load_outcomes(), "cipn_symptoms", method="reml").overall.estimate
"""

from exerpain.evidence.load import (
    clear_cache,
    load_findings,
    load_outcomes,
    load_studies,
    load_timecourses,
    load_trials,
    with_citations,
)
from exerpain.evidence.meta import (
    MetaResult,
    OutcomeMeta,
    SubgroupResult,
    pool,
    pool_outcome,
    pool_subgroups,
    se_from_ci,
)

__all__ = [
    "MetaResult",
    "OutcomeMeta",
    "SubgroupResult",
    "clear_cache",
    "load_findings",
    "load_timecourses",
    "load_trials",
    "load_outcomes",
    "load_studies",
    "pool",
    "pool_outcome",
    "pool_subgroups",
    "se_from_ci",
    "with_citations",
]
