"""Functional read-outs: nerve function as documented functions of nerve damage.

Exercise "promotes functional recovery after nerve injury, not only pain relief" (the seed
review, DESIGN.md section 1). These read-outs turn the injury module's state
``injury.damage`` (fraction of afferents injured, 0 in health, 1 when all are injured;
:mod:`exerpain.model.mechanisms.injury`) into the measures studies report, so that
regeneration (which exercise speeds through peripheral BDNF) can be compared with data:

- sciatic functional index (rodents; walking-track analysis, de Medinaceli 1982
  doi:10.1016/0014-4886(82)90234-5; Bain, Mackinnon & Hunter 1989 doi:10.1097/
  00006534-198901000-00024 for rats; Inserra 1998 for mice), 0 = normal, about -100 =
  complete loss of sciatic function::

      SFI = sfi_healthy - sfi_loss * damage

- sural sensory nerve conduction velocity (humans; m/s)::

      NCV = ncv_healthy_m_s * (1 - ncv_loss * damage)

- intraepidermal nerve fibre density at the distal leg (humans; fibres/mm; skin biopsy
  10 cm above the lateral malleolus)::

      IENFD = ienfd_healthy_fibres_mm * (1 - ienfd_loss * damage)

All three are linear in damage (the simplest monotone map; the published numbers give one
point each besides health), equal their healthy value at damage 0 and fall as damage rises.
Higher is better for every one of them. The parameters belong to the ``readout`` group of
the parameter table. :func:`functional_readouts` is the one entry point (pure, traceable).
"""

from __future__ import annotations

from collections.abc import Callable

import jax.numpy as jnp
from jax import Array

from exerpain.model.mechanisms.base import param

DAMAGE_STATE = "injury.damage"

FUNCTION_PARAMETERS = (
    param("sfi_healthy", -5.4, "SFI units (0 normal, -100 complete loss)", -15.0, 5.0, "cited",
          "intact rats -5.4 +/- 1.7 (Iran J Pharm Res, 'Sciatic functional index following "
          "induction of injury in the sciatic nerve of rats', "
          "http://ijpr.sbmu.ac.ir/article_124.html; index formula of de Medinaceli 1982, "
          "doi:10.1016/0014-4886(82)90234-5); sham-operated rats stayed at -9.4 +/- 4.6",
          "sciatic functional index of an uninjured rodent"),
    param("sfi_loss", 94.6, "SFI units per unit damage", 50.0, 110.0, "assumed",
          "the index is scaled so that complete loss of sciatic function (transection) reads "
          "about -100 (de Medinaceli 1982, doi:10.1016/0014-4886(82)90234-5; Bain 1989, "
          "doi:10.1097/00006534-198901000-00024): sfi_loss = 100 + sfi_healthy, so "
          "damage 1 gives -100. Check: the sedentary CCI rat's peak damage 0.86 gives "
          "SFI -87, against -91.8 +/- 11.2 after four loose ligatures (Iran J Pharm Res, "
          "http://ijpr.sbmu.ac.ir/article_124.html)",
          "fall of the sciatic functional index per unit nerve damage"),
    param("ncv_healthy_m_s", 50.7, "m/s", 43.0, 56.0, "cited",
          "sural sensory conduction velocity 50.68 +/- 3.1 m/s (right side) in 120 healthy "
          "adults aged 18-70 (Roy et al. 2020, Int J Sci Res 9(1), "
          "http://worldwidejournals.org/index.php/ijsr/article/view/1337); range: lower "
          "reference limit 43 m/s (Zamoum & Chaouch 2022, doi:10.29328/journal.jnnd.1001067) "
          "to ~ mean + 1 SD of other normative sets (53.2 +/- 5.7 m/s, Saeed, J Ayub Med "
          "Coll Abbottabad)",
          "sural sensory nerve conduction velocity in health"),
    param("ncv_loss", 0.2897, "dimensionless", 0.05, 1.0, "calibrated",
          "calibrated to a 14.5% slower conduction in DPN (peroneal motor NCV 36.6 +/- 4.1 vs "
          "42.8 +/- 4.1 m/s in healthy controls, as quoted in the sample-size calculation of "
          "a sensorimotor-training DPN trial, Current Pedorthics 2020;52(5):27, "
          "https://viewer.joomag.com/current-pedorthics-september-october-2020-vol-52-issue-5/"
          "0991322001598979287/p27) at the sedentary DPN steady-state damage 0.5: "
          "(1 - 36.6/42.8)/0.5; the relative slowing of the peroneal nerve is assumed to hold "
          "for the sural nerve",
          "fractional slowing of conduction per unit nerve damage"),
    param("ienfd_healthy_fibres_mm", 6.3, "fibres/mm", 3.0, 13.0, "cited",
          "healthy volunteers, distal leg, median 6.3 IENF/mm (right side; Lauria et al. 2015, "
          "'Side and time variability of intraepidermal nerve fiber density', Neurology "
          "84:2368-2371, https://insights.ovid.com/neur/201506090/00006114-201506090-00014); "
          "range: age- and sex-dependent, lower normal limits 1.9-6.1 fibres/mm (Bursova 2012, "
          "Cesk Slov Neurol N 75:455) and age-dependent normative values (Lauria 2010, "
          "doi:10.1111/j.1529-8027.2010.00271.x)",
          "intraepidermal nerve fibre density at the distal leg in health"),
    param("ienfd_loss", 0.3256, "dimensionless", 0.05, 1.0, "calibrated",
          "calibrated to 16.3% fewer distal-leg fibres with diabetic neuropathy (7.2 vs 8.6 "
          "fibres/mm in type 2 diabetes with vs without DSPN, doi:10.1186/s13098-016-0146-4) "
          "at the sedentary DPN steady-state damage 0.5: (1 - 7.2/8.6)/0.5",
          "fractional loss of epidermal fibres per unit nerve damage"),
)


def sciatic_functional_index(damage: Array, p: dict) -> Array:
    """Sciatic functional index (SFI units; 0 normal, about -100 complete loss)."""
    return p["sfi_healthy"] - p["sfi_loss"] * damage


def nerve_conduction_velocity_m_s(damage: Array, p: dict) -> Array:
    """Sural sensory nerve conduction velocity (m/s)."""
    return p["ncv_healthy_m_s"] * (1.0 - p["ncv_loss"] * damage)


def ienfd_fibres_mm(damage: Array, p: dict) -> Array:
    """Intraepidermal nerve fibre density at the distal leg (fibres/mm)."""
    return p["ienfd_healthy_fibres_mm"] * (1.0 - p["ienfd_loss"] * damage)


FUNCTIONAL_READOUTS: dict[str, dict[str, Callable[[Array, dict], Array]]] = {
    "rodent": {"sciatic_functional_index": sciatic_functional_index},
    "human": {"nerve_conduction_velocity_m_s": nerve_conduction_velocity_m_s,
              "ienfd_fibres_mm": ienfd_fibres_mm},
}


def functional_names(kind: str) -> tuple[str, ...]:
    """Names of the functional read-outs of a species kind (``rodent`` or ``human``)."""
    return tuple(FUNCTIONAL_READOUTS[kind])


def functional_readouts(kind: str, state: dict[str, Array], readout_params: dict
                        ) -> dict[str, Array]:
    """The functional read-outs of ``kind`` from the named ``state`` (needs
    ``injury.damage``; a model without the injury module has none: ``{}``).

    ``readout_params`` is the ``readout`` group of the parameters (``params["readout"]``).
    Pure and traceable (jit/vmap); shapes follow ``state["injury.damage"]``.
    """
    damage = state.get(DAMAGE_STATE)
    if damage is None:
        return {}
    damage = jnp.asarray(damage)
    return {name: fn(damage, readout_params) for name, fn in FUNCTIONAL_READOUTS[kind].items()}


def functional_healthy_value(name: str, readout_params: dict) -> float:
    """A functional read-out in health (damage 0)."""
    for fns in FUNCTIONAL_READOUTS.values():
        if name in fns:
            return float(fns[name](jnp.asarray(0.0), readout_params))
    raise KeyError(name)
