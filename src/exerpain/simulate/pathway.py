"""The pathway view's augmented system: a coalition's states beside the sedentary course.

For a coalition ``S`` (see :mod:`exerpain.explain.shapley`, "pathway view") the states of
player mechanisms outside ``S`` are held on their sedentary course while exercise acts
everywhere. Holding a state on a course that is itself the solution of an ODE is done
exactly, without interpolating a stored sedentary trajectory: the two runs are integrated as
one system ``z = [y_sed, y_S]`` (2 x n_states components),

- ``dy_sed/dt = f(t, y_sed; sedentary inputs)`` (exercise ablated through every mechanism);
- ``dy_S/dt = m * f(t, y_mix; exercise inputs) + (1 - m) * dy_sed/dt`` with the mixed state
  ``y_mix = m * y_S + (1 - m) * y_sed``,

where ``m`` (one 0/1 entry per state) is 1 for the states of mechanisms in ``S`` and of
non-player mechanisms (free states), 0 for the states of players outside ``S``. Where
``m = 0`` the two halves have the same derivative and start equal, so ``y_S = y_sed`` there
at every Runge-Kutta stage; every stage of the mixed half reads the sedentary states of the
same stage, which is what makes the construction exact (no dense-output interpolation
error). The read-out is taken at ``y_mix`` on the last day.

Cost: each right-hand side evaluates the model twice (the sedentary and the mixed state) on
twice the states, so one pathway run costs about two entry runs
(:data:`PATHWAY_RUN_WEIGHT`).
"""

from __future__ import annotations

from dataclasses import dataclass

import jax.numpy as jnp
import numpy as np
from jax import Array

from exerpain.model.registry import Model, ModelInputs

# Work and solver memory of one pathway run in units of one entry run: twice the states and
# two vector-field evaluations per Runge-Kutta stage (estimated, not measured).
PATHWAY_RUN_WEIGHT = 2


@dataclass(frozen=True, eq=False)
class PathwaySystem:
    """The augmented vector field of the pathway view (duck-types ``Model.vector_field``
    for :func:`exerpain.simulate.solve.integrate_run`).

    ``args`` of :meth:`vector_field` is ``(exercise_inputs, sedentary_inputs, state_mask)``:
    two :class:`ModelInputs` that differ only in their ablation, and the coalition's 0/1
    mask over the model's states (:func:`state_masks`).
    """

    model: Model

    @property
    def n_states(self) -> int:
        return len(self.model.state_names)

    def vector_field(self, t: Array, z: Array,
                     args: tuple[ModelInputs, ModelInputs, Array]) -> Array:
        """d[y_sed, y_S]/dt (per day)."""
        exercise, sedentary, mask = args
        y_sed, y_s = z[: self.n_states], z[self.n_states:]
        d_sed = self.model.vector_field(t, y_sed, sedentary)
        d_mix = self.model.vector_field(t, mixed_state(y_sed, y_s, mask), exercise)
        return jnp.concatenate([d_sed, jnp.where(mask > 0, d_mix, d_sed)])

    def start(self, y0: Array) -> Array:
        """Augmented state from one state: both halves start equal."""
        return jnp.concatenate([y0, y0])

    def mixed(self, z: Array, mask: Array) -> Array:
        """``y_mix`` of an augmented state (last axis)."""
        return mixed_state(z[..., : self.n_states], z[..., self.n_states:], mask)


def mixed_state(y_sed: Array, y_s: Array, mask: Array) -> Array:
    """``m * y_S + (1 - m) * y_sed``, selected (not blended) so it is exact for 0/1 masks."""
    return jnp.where(mask > 0, y_s, y_sed)


def state_masks(model: Model, players: tuple[str, ...], coalitions: np.ndarray) -> np.ndarray:
    """(C, n_states) 0/1 masks: 1 for the states of players in each coalition and of every
    mechanism that is not a player (free states), 0 for players outside the coalition.

    ``coalitions`` is (C, len(players)) with 1 = the player is in the coalition.
    """
    coalitions = np.asarray(coalitions, dtype=bool)
    column = {p: i for i, p in enumerate(players)}
    masks = np.ones((len(coalitions), len(model.state_owners)))
    for j, mechanism in enumerate(model.state_owners):
        if mechanism in column:
            masks[:, j] = coalitions[:, column[mechanism]]
    return masks
