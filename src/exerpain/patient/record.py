"""One patient's record: a pain diary, the sessions done, labs, covariates and genotypes.

The validated record every source becomes (:func:`load_record`): a diary CSV with its labs
file (this module) or a FHIR R4 Bundle (:mod:`exerpain.patient.fhir`).

Diary CSV (one row per day with data; missing days are simply absent)::

    date,pain,minutes,intensity,rpe,modality,medication
    2026-01-05,6,,,,,pregabalin 150 mg
    2026-01-06,7,40,0.6,,aerobic,

- ``date``: ISO date; strictly increasing (no duplicates);
- ``pain``: average pain that day, NRS 0-10 (blank: not rated);
- ``minutes``: minutes of exercise that day (0 or blank: none), 0-600;
- ``intensity``: relative intensity, fraction of heart-rate reserve / VO2max, 0-1.2, or
  ``rpe``: Borg rating of perceived exertion 6-20 (converted, :func:`intensity_from_rpe`);
  a session needs one of them;
- ``modality``: aerobic (default), resistance, combined or hiit;
- ``medication``: free text, kept in the record and not modelled.

Labs CSV (covariates, genotypes and biomarkers; one row each)::

    name,value,unit,date
    patient_id,P-0042,,
    sex,female,,
    age,61,a,
    hba1c,7.8,%,2026-01-05
    bdnf_rs6265,Val/Met,,
    il6,3.1,pg/mL,2026-01-05

Known names and units: :data:`COVARIATES`, :data:`BIOMARKERS`, the genotype variants of
:mod:`exerpain.population.genotypes` (value: one of the variant's labels).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from exerpain.errors import InputError
from exerpain.population.genotypes import VARIANT_NAMES, VARIANTS

MAX_DAYS = 730  # longest diary read (days from first to last entry)
MAX_FILE_BYTES = 4 * 1024 * 1024
MODALITIES = ("aerobic", "resistance", "combined", "hiit")


class Biomarker(BaseModel):
    """A serum marker the model reads out: the model state it measures (fold change from
    health) and its unit."""

    model_config = ConfigDict(frozen=True)
    name: str
    state: str
    unit: str
    loinc: str | None
    description: str


# Serum markers the model reads: BDNF -> peripheral BDNF, IL-6 and TNF-alpha -> circulating
# pro-inflammatory cytokines, IL-10 -> IL-10 (the same mapping the calibration's DPN biomarker
# targets use, exerpain.calibrate.targets). Only within-patient changes inform the fit (the
# model's states are fold changes from health; an absolute concentration has no model scale).
BIOMARKERS: dict[str, Biomarker] = {b.name: b for b in (
    Biomarker(name="bdnf", state="neurotrophic.bdnf_peripheral", unit="ng/mL", loinc=None,
              description="serum brain-derived neurotrophic factor"),
    Biomarker(name="il6", state="inflammation.cytokines", unit="pg/mL", loinc="26881-3",
              description="interleukin 6, serum or plasma"),
    Biomarker(name="tnf", state="inflammation.cytokines", unit="pg/mL", loinc="3074-2",
              description="tumor necrosis factor alpha, serum or plasma"),
    Biomarker(name="il10", state="inflammation.il10", unit="pg/mL", loinc="26848-2",
              description="interleukin 10, serum or plasma"),
)}
# Covariates: name -> (unit, low, high)
COVARIATES: dict[str, tuple[str, float, float]] = {
    "age": ("a", 18.0, 100.0), "hba1c": ("%", 4.0, 15.0), "bmi": ("kg/m2", 15.0, 60.0),
    "vo2max": ("mL/kg/min", 8.0, 70.0),
}


def intensity_from_rpe(rpe: float) -> float:
    """Relative intensity (fraction of heart-rate reserve) of a Borg 6-20 rating: linear
    through the ACSM anchors RPE 12 -> 0.40 and RPE 14 -> 0.60 (moderate 40-59% HRR at RPE
    12-13, vigorous 60-89% at 14-17; Garber 2011 ACSM position stand, Table 4,
    doi:10.1249/MSS.0b013e318213fefb), kept within 0-1.0."""
    return min(max(0.4 + 0.1 * (rpe - 12.0), 0.0), 1.0)


class DiaryDay(BaseModel):
    """One diary day: the pain rating and the session done (if any)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    date: dt.date
    pain: float | None = Field(default=None, ge=0.0, le=10.0, allow_inf_nan=False)
    minutes: float = Field(default=0.0, ge=0.0, le=600.0, allow_inf_nan=False)
    intensity: float | None = Field(default=None, ge=0.0, le=1.2, allow_inf_nan=False)
    modality: Literal["aerobic", "resistance", "combined", "hiit"] = "aerobic"
    medication: str = Field(default="", max_length=200)

    @model_validator(mode="after")
    def _session(self) -> DiaryDay:
        if self.minutes > 0 and self.intensity is None:
            raise ValueError("a session (minutes > 0) needs an intensity (0-1.2) or rpe (6-20)")
        return self


class Lab(BaseModel):
    """One biomarker determination."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    date: dt.date
    name: Literal["bdnf", "il6", "tnf", "il10"]
    value: float = Field(gt=0.0, allow_inf_nan=False)
    unit: str

    @model_validator(mode="after")
    def _unit(self) -> Lab:
        expected = BIOMARKERS[self.name].unit
        if self.unit != expected:
            raise ValueError(f"unit of {self.name} must be {expected}, got {self.unit!r}")
        return self


class PatientRecord(BaseModel):
    """One patient, validated: covariates, genotypes, diary (dates strictly increasing)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    patient_id: str = Field(default="patient", max_length=200)
    sex: Literal["female", "male"]
    age: float = Field(ge=18.0, le=100.0, allow_inf_nan=False)
    hba1c: float | None = Field(default=None, ge=4.0, le=15.0, allow_inf_nan=False)
    bmi: float | None = Field(default=None, ge=15.0, le=60.0, allow_inf_nan=False)
    vo2max: float | None = Field(default=None, ge=8.0, le=70.0, allow_inf_nan=False)
    genotypes: dict[str, str] = Field(default_factory=dict)
    diary: tuple[DiaryDay, ...] = Field(min_length=1)
    labs: tuple[Lab, ...] = ()

    @model_validator(mode="after")
    def _check(self) -> PatientRecord:
        for variant, label in self.genotypes.items():
            if variant not in VARIANT_NAMES:
                raise ValueError(f"genotypes: unknown variant {variant!r}; allowed: "
                                 f"{', '.join(VARIANT_NAMES)}")
            labels = VARIANTS[VARIANT_NAMES.index(variant)].labels
            if label not in labels:
                raise ValueError(f"genotypes.{variant}: {label!r} is not one of "
                                 f"{', '.join(labels)}")
        dates = [d.date for d in self.diary]
        for k in range(1, len(dates)):
            if dates[k] <= dates[k - 1]:
                raise ValueError(f"diary.{k}.date: {dates[k]} is not after the previous "
                                 f"entry ({dates[k - 1]}); dates must be increasing, without "
                                 "duplicates")
        if (dates[-1] - dates[0]).days >= MAX_DAYS:
            raise ValueError(f"diary: spans {(dates[-1] - dates[0]).days + 1} days; at most "
                             f"{MAX_DAYS}")
        for k, lab in enumerate(self.labs):
            offset = (lab.date - dates[0]).days
            if not 0 <= offset <= (dates[-1] - dates[0]).days:
                raise ValueError(f"labs.{k}.date: {lab.date} lies outside the diary "
                                 f"({dates[0]} to {dates[-1]})")
        return self

    @property
    def start(self) -> dt.date:
        return self.diary[0].date

    @property
    def days(self) -> int:
        """Days from the first to the last diary entry, inclusive."""
        return (self.diary[-1].date - self.start).days + 1


def build_record(data: dict, where: str) -> PatientRecord:
    """Validate ``data`` into a record; the first error becomes one :class:`InputError`
    line naming the field (``where``: the file, for the message)."""
    try:
        return PatientRecord(**data)
    except ValidationError as err:
        first = err.errors()[0]
        field = ".".join(str(x) for x in first["loc"]) or "record"
        message = first["msg"].removeprefix("Value error, ")
        raise InputError(f"{where}: {field}: {message}") from None


def _read_text(path: Path) -> str:
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise InputError(f"{path}: larger than {MAX_FILE_BYTES // 1024 // 1024} MiB")
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text") from None


def _rows(path: Path, required: tuple[str, ...], allowed: tuple[str, ...]) -> list[dict]:
    reader = csv.DictReader(io.StringIO(_read_text(path)))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in required if c not in header]
    unknown = [c for c in header if c not in allowed]
    if missing or unknown:
        raise InputError(f"{path}: header needs {', '.join(required)} (optional: "
                         f"{', '.join(c for c in allowed if c not in required)}); "
                         f"missing {missing or 'none'}, unknown {unknown or 'none'}")
    reader.fieldnames = header
    return [{k: (v or "").strip() for k, v in row.items()} for row in reader]


def _number(text: str, field: str, low: float, high: float) -> float | None:
    if text == "":
        return None
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"{field}: {text!r} is not a number (allowed {low:g}-{high:g})"
                         ) from None
    if not math.isfinite(value) or not low <= value <= high:
        raise InputError(f"{field}: {text} is outside the allowed range {low:g}-{high:g}")
    return value


def _date(text: str, field: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InputError(f"{field}: {text!r} is not an ISO date (YYYY-MM-DD)") from None


DIARY_COLUMNS = ("date", "pain", "minutes", "intensity", "rpe", "modality", "medication")
LAB_COLUMNS = ("name", "value", "unit", "date")


def diary_days(path: Path) -> list[dict]:
    """Rows of a diary CSV as :class:`DiaryDay` fields (RPE converted to intensity)."""
    days = []
    for k, row in enumerate(_rows(path, ("date", "pain"), DIARY_COLUMNS)):
        where = f"{path.name}: diary.{k}"
        day: dict = {"date": _date(row.get("date", ""), f"{where}.date")}
        pain = _number(row.get("pain", ""), f"{where}.pain", 0.0, 10.0)
        minutes = _number(row.get("minutes", ""), f"{where}.minutes", 0.0, 600.0) or 0.0
        intensity = _number(row.get("intensity", ""), f"{where}.intensity", 0.0, 1.2)
        rpe = _number(row.get("rpe", ""), f"{where}.rpe", 6.0, 20.0)
        if intensity is None and rpe is not None:
            intensity = intensity_from_rpe(rpe)
        day.update(pain=pain, minutes=minutes, intensity=intensity if minutes > 0 else None)
        if row.get("modality"):
            if row["modality"] not in MODALITIES:
                raise InputError(f"{where}.modality: {row['modality']!r}; allowed: "
                                 f"{', '.join(MODALITIES)}")
            day["modality"] = row["modality"]
        if row.get("medication"):
            day["medication"] = row["medication"]
        if minutes > 0 and intensity is None:
            raise InputError(f"{where}: a session (minutes > 0) needs an intensity (0-1.2) "
                             "or rpe (6-20)")
        days.append(day)
    return days


def lab_fields(path: Path) -> dict:
    """Covariates, genotypes and labs of a labs CSV as record fields."""
    out: dict = {"genotypes": {}, "labs": []}
    for k, row in enumerate(_rows(path, ("name", "value"), LAB_COLUMNS)):
        name, value, unit = row.get("name", ""), row.get("value", ""), row.get("unit", "")
        where = f"{path.name}: labs.{k} ({name})"
        if name == "patient_id":
            out["patient_id"] = value
        elif name == "sex":
            if value not in ("female", "male"):
                raise InputError(f"{where}: value must be female or male, got {value!r}")
            out["sex"] = value
        elif name in COVARIATES:
            expected, low, high = COVARIATES[name]
            if unit != expected:
                raise InputError(f"{where}: unit must be {expected}, got {unit!r}")
            out[name] = _number(value, f"{where}.value", low, high)
        elif name in VARIANT_NAMES:
            out["genotypes"][name] = value
        elif name in BIOMARKERS:
            out["labs"].append({"date": _date(row.get("date", ""), f"{where}.date"),
                                "name": name, "value": _number(value, f"{where}.value",
                                                               1e-9, 1e9),
                                "unit": unit})
        else:
            raise InputError(f"{where}: unknown name; allowed: patient_id, sex, "
                             f"{', '.join([*COVARIATES, *VARIANT_NAMES, *BIOMARKERS])}")
    return out


def load_csv_record(diary: str | Path, labs: str | Path | None = None,
                    patient_id: str | None = None) -> PatientRecord:
    """A record from a diary CSV and its labs file (default ``labs.csv`` beside it)."""
    diary = Path(diary)
    labs = Path(labs) if labs is not None else diary.with_name("labs.csv")
    if not labs.is_file():
        raise InputError(f"labs: {labs} not found; pass --labs LABS_CSV (sex and age are "
                         "needed)")
    fields = lab_fields(labs)
    for name in ("sex", "age"):
        if name not in fields:
            raise InputError(f"{labs.name}: {name}: missing (a row named {name} is required)")
    fields["diary"] = diary_days(diary)
    fields["patient_id"] = patient_id or fields.get("patient_id") or diary.parent.name or (
        "patient")
    return build_record(fields, diary.name)


def load_record(path: str | Path, labs: str | Path | None = None) -> PatientRecord:
    """A record from a FHIR R4 Bundle (``.json``) or a diary CSV with its labs file."""
    path = Path(path)
    if path.suffix.lower() == ".json":
        if labs is not None:
            raise InputError("labs: a FHIR bundle carries its own labs; --labs is for a diary "
                             "CSV")
        from exerpain.patient.fhir import load_bundle

        return load_bundle(path)
    return load_csv_record(path, labs)


def write_csv_record(record: PatientRecord, folder: Path) -> tuple[Path, Path]:
    """``diary.csv`` and ``labs.csv`` of ``record`` in ``folder`` (the layout above)."""
    diary, labs = folder / "diary.csv", folder / "labs.csv"
    with diary.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(DIARY_COLUMNS)
        for d in record.diary:
            w.writerow([d.date.isoformat(), "" if d.pain is None else f"{d.pain:g}",
                        f"{d.minutes:g}" if d.minutes else "",
                        "" if d.intensity is None else repr(d.intensity), "",
                        d.modality if d.minutes else "", d.medication])
    with labs.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(LAB_COLUMNS)
        w.writerow(["patient_id", record.patient_id, "", ""])
        w.writerow(["sex", record.sex, "", ""])
        for name, (unit, _, _) in COVARIATES.items():
            value = getattr(record, name)
            if value is not None:
                w.writerow([name, repr(value), unit, ""])
        for variant, label in record.genotypes.items():
            w.writerow([variant, label, "", ""])
        for lab in record.labs:
            w.writerow([lab.name, repr(lab.value), lab.unit, lab.date.isoformat()])
    return diary, labs
