"""Built-in mechanism modules, one file each. Importing this package registers them in the
order below (which is the order of their states in the state vector)."""

from exerpain.model.mechanisms import (  # noqa: F401
    dopaminergic,
    endocannabinoid,
    gabaergic,
    inflammation,
    injury,
    monoaminergic,
    neurotrophic,
    opioid,
    oxidative,
    sensitization,
)
