"""A patient record from a FHIR R4 Bundle (JSON), parsed with ``fhir.resources`` (R4B models,
which read R4 Patient, Observation and MedicationStatement resources), and written back.

Resources read (others are listed as skipped):

- ``Patient``: ``gender`` (female / male), ``birthDate`` (age in whole years on the first
  diary day);
- ``Observation`` by LOINC code (system ``http://loinc.org``), ``effectiveDateTime`` the day:
  72514-3 pain severity 0-10 (``valueInteger`` or ``valueQuantity``), 4548-4 HbA1c (%),
  39156-5 BMI (kg/m2), 26881-3 IL-6, 3074-2 TNF-alpha, 26848-2 IL-10 (pg/mL), 55411-3
  exercise duration (min; components: relative intensity, modality), 69548-6 genetic variant
  assessment (component 81252-9: the dbSNP id, system ``http://www.ncbi.nlm.nih.gov/
  projects/SNP``; the genotype label, e.g. ``Val/Met``, in ``valueCodeableConcept.text``);
- codes without a LOINC code we could confirm use the local system :data:`LOCAL`: ``bdnf``
  (ng/mL), ``vo2max`` (mL/kg/min), and the session components ``relative-intensity``
  (fraction, unit ``1``) and ``modality``;
- ``MedicationStatement``: ``medicationCodeableConcept.text`` on its ``effectiveDateTime``
  (kept in the diary's medication column, not modelled).

Where the codes were seen: ``patient/data/LOINC.md``. Unknown codes are listed and skipped;
a known code with a wrong unit is an error.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from pydantic import ValidationError

from exerpain.errors import InputError
from exerpain.patient.record import (
    BIOMARKERS,
    COVARIATES,
    MAX_FILE_BYTES,
    PatientRecord,
    build_record,
)

LOINC = "http://loinc.org"
LOCAL = "urn:exerpain:codes"
DBSNP = "http://www.ncbi.nlm.nih.gov/projects/SNP"
PAIN = "72514-3"
SESSION = "55411-3"
VARIANT = "69548-6"
VARIANT_ID = "81252-9"
# code -> (record field, UCUM unit)
QUANTITIES: dict[tuple[str, str], tuple[str, str]] = {
    (LOINC, "4548-4"): ("hba1c", "%"),
    (LOINC, "39156-5"): ("bmi", "kg/m2"),
    (LOCAL, "vo2max"): ("vo2max", "mL/kg/min"),
    **{(LOINC if b.loinc else LOCAL, b.loinc or b.name): (b.name, b.unit)
       for b in BIOMARKERS.values()},
}
RSID = {"bdnf_rs6265": "rs6265", "comt_rs4680": "rs4680", "oprm1_rs1799971": "rs1799971",
        "sod2_rs4880": "rs4880", "il10_1082": "rs1800896", "tnf_308": "rs1800629",
        "httlpr": "rs4795541"}
VARIANT_OF = {v: k for k, v in RSID.items()}


def _codes(concept) -> list[tuple[str, str]]:
    return [(c.system or "", c.code or "") for c in (concept.coding or [])] if concept else []


def _day(value, where: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    raise InputError(f"{where}: effectiveDateTime is required (a date)")


def _quantity(q, unit: str, where: str) -> float:
    if q is None or q.value is None:
        raise InputError(f"{where}: valueQuantity is required")
    given = q.code or q.unit or ""
    if given != unit:
        raise InputError(f"{where}: unit must be {unit} (UCUM), got {given!r}")
    return float(q.value)


def _component(obs, system: str, code: str):
    return next((c for c in (obs.component or []) if (system, code) in _codes(c.code)), None)


def read_bundle(data: object, where: str) -> tuple[dict, list[str]]:
    """Record fields from a parsed Bundle, and the skipped entries (``type code`` lines)."""
    from fhir.resources.R4B.bundle import Bundle

    try:
        bundle = Bundle.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        raise InputError(f"{where}: not a valid FHIR Bundle: "
                         f"{'.'.join(str(x) for x in first['loc'])}: {first['msg']}") from None
    fields: dict = {"genotypes": {}, "labs": []}
    days: dict[dt.date, dict] = {}
    birth, skipped = None, []
    for k, entry in enumerate(bundle.entry or []):
        res = entry.resource
        kind = res.get_resource_type() if res is not None else "none"
        at = f"{where}: entry.{k} ({kind})"
        if kind == "Patient":
            if res.gender not in ("female", "male"):
                raise InputError(f"{at}: gender must be female or male, got {res.gender!r}")
            fields["sex"], birth = res.gender, res.birthDate
            fields["patient_id"] = res.id or "patient"
        elif kind == "MedicationStatement":
            day = _day(res.effectiveDateTime, at)
            text = (res.medicationCodeableConcept.text
                    if res.medicationCodeableConcept is not None else None) or ""
            days.setdefault(day, {"date": day})["medication"] = text
        elif kind == "Observation":
            codes = _codes(res.code)
            if (LOINC, PAIN) in codes:
                day = _day(res.effectiveDateTime, at)
                value = (res.valueInteger if res.valueInteger is not None
                         else _quantity(res.valueQuantity, "{score}", at))
                days.setdefault(day, {"date": day})["pain"] = float(value)
            elif (LOINC, SESSION) in codes:
                day = _day(res.effectiveDateTime, at)
                entry_day = days.setdefault(day, {"date": day})
                entry_day["minutes"] = _quantity(res.valueQuantity, "min", at)
                intensity = _component(res, LOCAL, "relative-intensity")
                if intensity is not None:
                    entry_day["intensity"] = _quantity(intensity.valueQuantity, "1",
                                                       f"{at}.relative-intensity")
                modality = _component(res, LOCAL, "modality")
                if modality is not None and modality.valueString:
                    entry_day["modality"] = modality.valueString
            elif (LOINC, VARIANT) in codes:
                ident = _component(res, LOINC, VARIANT_ID)
                rsid = next((c for s, c in _codes(ident.valueCodeableConcept) if s == DBSNP),
                            None) if ident is not None else None
                if rsid not in VARIANT_OF:
                    skipped.append(f"Observation {VARIANT} variant {rsid or '(no dbSNP id)'}")
                    continue
                label = res.valueCodeableConcept.text if res.valueCodeableConcept else None
                fields["genotypes"][VARIANT_OF[rsid]] = label or ""
            elif known := next((QUANTITIES[c] for c in codes if c in QUANTITIES), None):
                name, unit = known
                value = _quantity(res.valueQuantity, unit, at)
                if name in BIOMARKERS:
                    fields["labs"].append({"date": _day(res.effectiveDateTime, at),
                                           "name": name, "value": value, "unit": unit})
                else:
                    fields[name] = value
            else:
                skipped.append(f"Observation {' '.join(f'{s}|{c}' for s, c in codes) or '?'}")
        else:
            skipped.append(kind)
    if birth is None:
        raise InputError(f"{where}: a Patient with gender and birthDate is required")
    fields["diary"] = [days[d] for d in sorted(days)]
    if fields["diary"]:
        first = fields["diary"][0]["date"]
        fields["age"] = float(first.year - birth.year
                              - ((first.month, first.day) < (birth.month, birth.day)))
    return fields, skipped


def load_bundle(path: str | Path) -> PatientRecord:
    """A record from a FHIR R4 Bundle file; unknown codes are skipped with a warning."""
    import warnings

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise InputError(f"{path}: larger than {MAX_FILE_BYTES // 1024 // 1024} MiB")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InputError(f"{path}: not JSON ({err})") from None
    fields, skipped = read_bundle(data, path.name)
    if skipped:
        warnings.warn(f"{path.name}: skipped {len(skipped)} entries with unknown codes: "
                      f"{'; '.join(sorted(set(skipped)))}", UserWarning, stacklevel=2)
    return build_record(fields, path.name)


def _coding(system: str, code: str, display: str = "") -> dict:
    return {"coding": [{"system": system, "code": code, **({"display": display}
                                                            if display else {})}]}


def _observation(code: dict, day: dt.date, **value) -> dict:
    return {"resourceType": "Observation", "status": "final", "code": code,
            "effectiveDateTime": day.isoformat(), **value}


def bundle_of(record: PatientRecord) -> dict:
    """The record as a FHIR R4 Bundle (type collection), validated by ``fhir.resources``."""
    from fhir.resources.R4B.bundle import Bundle

    first = record.start
    birth = dt.date(first.year - int(record.age), first.month, min(first.day, 28))
    if birth > first.replace(year=first.year - int(record.age)):
        birth = birth.replace(day=1)
    resources: list[dict] = [{"resourceType": "Patient", "id": record.patient_id,
                              "gender": record.sex, "birthDate": birth.isoformat()}]
    units = {name: unit for (_, _), (name, unit) in QUANTITIES.items()}
    code_of = {name: key for key, (name, _) in QUANTITIES.items()}
    for name in COVARIATES:
        value = getattr(record, name, None)
        if name != "age" and value is not None:
            resources.append(_observation(_coding(*code_of[name]), first, valueQuantity={
                "value": value, "unit": units[name], "system": "http://unitsofmeasure.org",
                "code": units[name]}))
    for variant, label in record.genotypes.items():
        resources.append(_observation(
            _coding(LOINC, VARIANT, "Genetic variant assessment"), first,
            valueCodeableConcept={"text": label},
            component=[{"code": _coding(LOINC, VARIANT_ID, "Discrete genetic variant"),
                        "valueCodeableConcept": _coding(DBSNP, RSID[variant])}]))
    for d in record.diary:
        if d.pain is not None:
            resources.append(_observation(_coding(LOINC, PAIN), d.date,
                                          valueQuantity={"value": d.pain, "code": "{score}"}))
        if d.minutes > 0:
            resources.append(_observation(
                _coding(LOINC, SESSION, "Exercise duration"), d.date,
                valueQuantity={"value": d.minutes, "code": "min"},
                component=[{"code": _coding(LOCAL, "relative-intensity"),
                            "valueQuantity": {"value": d.intensity, "code": "1"}},
                           {"code": _coding(LOCAL, "modality"), "valueString": d.modality}]))
        if d.medication:
            resources.append({"resourceType": "MedicationStatement", "status": "active",
                              "subject": {"reference": f"Patient/{record.patient_id}"},
                              "medicationCodeableConcept": {"text": d.medication},
                              "effectiveDateTime": d.date.isoformat()})
    for lab in record.labs:
        resources.append(_observation(_coding(*code_of[lab.name]), lab.date, valueQuantity={
            "value": lab.value, "code": lab.unit}))
    data = {"resourceType": "Bundle", "type": "collection",
            "entry": [{"resource": r} for r in resources]}
    Bundle.model_validate(data)
    return data
