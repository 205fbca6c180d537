"""The mechanistic model: mechanisms, their registry, parameters, conditions, protocols,
interventions and read-outs."""
