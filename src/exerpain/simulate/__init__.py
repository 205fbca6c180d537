"""Simulation: scenarios become model inputs; ``solve`` is the one entry point to the solver."""
