"""Property-based fuzzing of every input layer (Hypothesis).

``make test`` runs each fuzz test with the ``ci`` profile (a few dozen cases each, a few
hundred in all); ``make fuzz`` runs them with the ``fuzz`` profile, sized so that the suite
generates at least 10,000 cases (``FUZZ_CASES`` per test, times the number of fuzz tests).
Every case must end in a result or a clean :class:`exerpain.errors.InputError`; any other
exception fails the test with the input that caused it.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

CI_CASES = 40
FUZZ_CASES = 1500

settings.register_profile("ci", max_examples=CI_CASES, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("fuzz", max_examples=FUZZ_CASES, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("EXERPAIN_FUZZ", "ci"))
