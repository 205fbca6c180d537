"""SBML export of a scenario's composed model (issue 14).

- :mod:`~exerpain.interfaces.sbml.jaxpr_math`: JAX programs (jaxprs) as SBML formulas;
- :mod:`~exerpain.interfaces.sbml.document`: the libsbml document, units and annotations;
- :mod:`~exerpain.interfaces.sbml.export`: a scenario -> SBML Level 3 Version 2.
"""

from exerpain.interfaces.sbml.export import SbmlExport, export_scenario, sbml_id

__all__ = ["SbmlExport", "export_scenario", "sbml_id"]
