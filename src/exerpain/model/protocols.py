"""Exercise protocols and the exercise signals they produce.

A protocol (modality, relative intensity, minutes per session, sessions per week, start and
stop day) becomes exercise signals in the style of Banister's impulse-response
(fitness-fatigue) model (Morton, Fitz-Clarke & Banister 1990, J Appl Physiol 69:1171,
PMID 2246166):

- session load: Banister TRIMP, ``minutes * I * a * exp(b * I)`` with ``I`` the relative
  intensity (fraction of heart-rate reserve / VO2max; for rodents, of maximal aerobic running
  speed), a = 0.64 and b = 1.92 (men; evidence/README.md);
- load rate ``L``: TRIMP per day averaged over the weekly schedule, relative to the reference
  programme. Every signal below is a first-order (Banister-style impulse-response) filter of
  ``L``; for a programme of constant load between ``start`` and ``stop`` each has an exact
  closed form, so no ODE state and no resolution of individual sessions is needed (daily
  output; the mediators downstream have time constants of days);
- chronic adaptation ``A``: the saturation of the programme's steady load
  ``s = l / (l + l50)`` (``l`` the load relative to the reference programme; saturating: no
  dose-response within the usual range, Matesanz-Garcia 2023, doi:10.1016/j.jpain.2023.01.011)
  reached with its own build-up time constant while training and lost with a separate
  detraining time constant after the programme stops, ``dA/dt = (s - A) / tau_adaptation``
  during the programme and ``-A / tau_detraining`` after it. Saturation, build-up and decay
  are three parameters, not one (a fitness-based ``F / (F + F50)`` stays near 1 while fitness
  decays, so benefit would outlive training by months);
- exercise stress ``max(0, strain - tolerance)``: ``strain`` is the load relative to the
  reference accumulated with a slow time constant (non-functional overreaching builds over
  weeks of excessive load, Meeusen 2013 consensus, doi:10.1249/MSS.0b013e318279a10a;
  direction only), so a long programme of heavy load can become pro-inflammatory while a short
  one does not (Cobianchi 2010); acute signals while the programme runs: daily session
  frequency, and the part of it above the beta-endorphin threshold (>= 70% VO2max for
  >= 15 min, Goldfarb 1990, PMID 2141380).

Modality enters as a weight on exercise's drive through each mechanism
(:data:`MODALITY_WEIGHTS`, from published contrasts) and, for forced swimming in rodents, a
calibrated overall gain (:func:`modality_gain`).
"""

from __future__ import annotations

import json
import math
import numbers
import os
import re
import stat
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, NamedTuple

import annotated_types
import jax
import jax.numpy as jnp
import numpy as np
import yaml
from jax import Array
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_core import PydanticCustomError

from exerpain.errors import InputError
from exerpain.model.mechanisms.base import ExerciseDrive, param

Modality = Literal[
    "none", "treadmill", "running", "cycling", "swimming", "wheel", "aerobic", "resistance",
    "combined", "hiit", "sensorimotor",
]

EXERCISE_PARAMETERS = (
    param("responsiveness_rodent", 0.3174, "dimensionless", 0.0, 2.0, "assumed",
          "prior centre from an assumed target (treadmill exercise reverses half of the CCI "
          "allodynia deficit by day 42); exerpain calibrate fits it to the pooled SMD 0.53 "
          "(Matesanz-Garcia 2023) through a virtual cohort",
          "scale on exercise's chronic and acute drive in rodents"),
    param("responsiveness_human", 0.05862, "dimensionless", 0.0, 2.0, "calibrated",
          "calibrated to a 0.75-point NRS benefit of 16 weeks of aerobic exercise in painful "
          "DPN (prior centre for exerpain calibrate; EIH is absent"
          " in painful DPN, Knauf & Koltyn 2014, "
          "PMID 24632113)",
          "scale on exercise's chronic and acute drive in patients with neuropathy"),
    param("blood_marker_drive_ratio", 1.0, "dimensionless", 0.2, 20.0, "assumed",
          "circulating markers of training (serum BDNF, plasma cytokines, malondialdehyde, "
          "superoxide dismutase) move by SMD 0.4-1.3 in training meta-analyses of adults "
          "(Dinoff 2016, Wang 2023, Qiu 2025), while pain in painful neuropathy moves by SMD "
          "0.2-0.5 and exercise-induced hypoalgesia is absent in painful DPN (Knauf & Koltyn "
          "2014, PMID 24632113), which is what keeps responsiveness_human small; blood "
          "reflects muscle, blood-cell and liver adaptation that need not reach the nerve. "
          "Prior centre 1 (no difference; the fit must move it); exerpain calibrate fits it "
          "to the marker meta-analyses",
          "in patients, ratio of the training drive acting on circulating (blood) markers to "
          "the drive acting on the nervous system (multiplies responsiveness_human in "
          "blood-marker experiments)"),
    param("trimp_weight", 0.64, "dimensionless", 0.5, 1.0, "cited",
          "Banister TRIMP weighting 0.64 e^(1.92 HRr) for men (Banister 1991; "
          "evidence/README.md)", "TRIMP pre-factor"),
    param("trimp_exponent", 1.92, "dimensionless", 1.5, 2.0, "cited",
          "Banister TRIMP exponent 1.92 (men), 1.67 (women) (Banister 1991; evidence/README.md)",
          "TRIMP intensity exponent"),
    param("trimp_weight_female", 0.86, "dimensionless", 0.5, 1.0, "cited",
          "Banister TRIMP weighting 0.86 e^(1.67 HRr) for women (Banister 1991, as given at "
          "https://runalyze.com/glossary/trimp)", "TRIMP pre-factor, women"),
    param("trimp_exponent_female", 1.67, "dimensionless", 1.5, 2.0, "cited",
          "Banister TRIMP exponent 1.67 for women (Banister 1991; evidence/README.md)",
          "TRIMP intensity exponent, women"),
    param("reference_minutes", 30.0, "min", 10.0, 120.0, "assumed",
          "reference programme: 30 min at 60% intensity, 5 sessions/week (typical moderate "
          "dose; rodent modal dose 30-60 min 5 d/wk, preclinical.md section 2)",
          "duration of the reference session that normalises load"),
    param("reference_intensity", 0.6, "fraction", 0.3, 0.9, "assumed",
          "see reference_minutes", "intensity of the reference session"),
    param("reference_sessions_per_week", 5.0, "1/week", 1.0, 7.0, "assumed",
          "see reference_minutes", "frequency of the reference programme"),
    param("load_half_saturation", 0.1, "fraction of reference load", 0.02, 2.0, "assumed",
          "saturation so that benefit is insensitive to dose within the usual rodent range "
          "(Matesanz-Garcia 2023, doi:10.1016/j.jpain.2023.01.011: no relation of effect to "
          "duration or intensity); size assumed",
          "steady training load (relative to the reference programme) giving half of the "
          "maximal chronic adaptation"),
    param("tau_adaptation", 10.0, "day", 2.0, 60.0, "assumed",
          "rodent exercise analgesia develops over the first 1-3 weeks of training "
          "(preclinical.md section 2; e.g. Stagg 2011, doi:10.1097/ALN.0b013e318210f880); "
          "value assumed", "build-up time constant of the chronic adaptation"),
    param("tau_detraining", 14.0, "day", 2.0, 120.0, "assumed",
          "training adaptations are lost over weeks after training stops (detraining); "
          "value assumed: no washout course with numbers was found (timecourses.csv)",
          "decay time constant of the chronic adaptation after the programme stops"),
    param("tau_strain", 28.0, "day", 5.0, 120.0, "assumed",
          "non-functional overreaching develops over weeks of excessive load (Meeusen 2013, "
          "doi:10.1249/MSS.0b013e318279a10a; direction only); value assumed",
          "time constant over which excess load accumulates into exercise stress"),
    param("strain_tolerance", 4.0, "fraction of reference load", 1.0, 20.0, "assumed",
          "sustained load above a few times the reference programme becomes a stressor "
          "(Cobianchi 2010: prolonged running less effective than short running, "
          "doi:10.1016/j.neuroscience.2010.03.035); prior centre set above the heaviest rodent "
          "preset so that no preset sits on the threshold; fitted to the dose contrasts",
          "accumulated load (relative to the reference programme) above which exercise is a "
          "stressor"),
    param("swimming_gain", 1.0, "dimensionless", 0.2, 5.0, "assumed",
          "forced swimming differs from running (water temperature, no weight bearing, "
          "stress-induced analgesia in forced paradigms, Pitcher 2018, PMC6061206); neutral "
          "prior, fitted to swimming contrasts where the evidence has them",
          "gain on exercise's drive for swimming relative to running (rodents)"),
    param("opioid_intensity_threshold", 0.70, "fraction of VO2max", 0.5, 0.9, "cited",
          "plasma beta-endorphin rises only at >= 70% VO2max (Goldfarb 1990, PMID 2141380)",
          "intensity threshold of the acute beta-endorphin response"),
    param("opioid_intensity_width", 0.03, "fraction of VO2max", 0.005, 0.1, "assumed",
          "smooth gate around the threshold", "width of the intensity gate"),
    param("opioid_min_minutes", 15.0, "min", 5.0, 60.0, "cited",
          "beta-endorphin rose by 15 min at 70% VO2max (Goldfarb 1990, PMID 2141380)",
          "minimum session duration for the acute beta-endorphin response"),
)

# Modality weights on exercise's action through each mechanism (default 1).
MODALITY_WEIGHTS: dict[str, dict[str, float]] = {
    # Resting BDNF after training: aerobic SMD 0.66, resistance 0.07 (Dinoff 2016,
    # doi:10.1371/journal.pone.0163037): 0.07 / 0.66 ~= 0.1 of the aerobic neurotrophic drive.
    "resistance": {"neurotrophic": 0.1},
    # combined aerobic + resistance: mean of the two (derived).
    "combined": {"neurotrophic": 0.55},
}


MAX_PROTOCOL_BYTES = 64 * 1024
"""Largest protocol file read (bytes): a protocol is a handful of fields, so anything larger
is a wrong file, refused before it is parsed (a 50 MB file used to take 34 s and 940 MB)."""
MAX_PROTOCOL_DEPTH = 8
"""Deepest nesting of lists/mappings accepted in a protocol file (the top mapping is level 1).
A protocol is a flat mapping; the bound keeps a pathological file (``[[[[...]]]]``, or YAML
aliases that refer to themselves) from reaching the parser's recursion limit or the
validator."""
MAX_NAME_CHARS = 200
_BRACKET_SCAN_DEPTH = 64  # raw bracket depth refused before parsing (see _brackets_too_deep)
_QUOTED_OR_COMMENT = re.compile(r""""(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|#[^\n]*""")
_BRACKET = re.compile(r"[\[\]{}]")


def _describe(value: object) -> str:
    """A short, printable description of a bad value for an error message."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def checked_number(value: object, low: float, high: float, *, integer: bool = False
                   ) -> float | int:
    """``value`` as a finite float (or int, with ``integer``) within ``[low, high]``.

    Strict on purpose: pydantic's lax mode takes ``True`` as 1, ``"0.5"`` as 0.5 and lets
    NaN through a range check with a misleading message. Booleans and strings are refused
    (a number is expected), as are NaN and infinities. Raises ``PydanticCustomError`` so
    that the message (which names the allowed range) reaches the user verbatim.
    """
    kind = "a whole number" if integer else "a number"
    bounded = math.isfinite(low) or math.isfinite(high)
    allowed = f"{kind} from {low:g} to {high:g}" if bounded else f"{kind}, finite"
    if isinstance(value, (bool, np.bool_)):
        raise PydanticCustomError("number_type",
                                  f"must be {allowed}, not a boolean ({value})")
    if isinstance(value, (str, bytes)):
        raise PydanticCustomError("number_type",
                                  f"must be {allowed}, not a string ({_describe(value)})")
    if value is None:
        raise PydanticCustomError("number_type", f"must be {allowed}, not empty (null)")
    if not isinstance(value, numbers.Real):
        raise PydanticCustomError("number_type",
                                  f"must be {allowed}, not a {type(value).__name__}")
    try:
        number = float(value)
    except (OverflowError, ValueError, TypeError):
        number = math.inf
    if not math.isfinite(number):
        raise PydanticCustomError("finite_number",
                                  f"must be {allowed}, got {_describe(value)}")
    if integer and not number.is_integer():
        raise PydanticCustomError("int_type", f"must be {allowed}, got {number:g}")
    if not low <= number <= high:
        raise PydanticCustomError("number_range", f"must be {allowed}, got {number:g}")
    return int(number) if integer else number


def field_bounds(info: FieldInfo) -> tuple[float, float]:
    """The ``ge``/``le`` bounds declared on a pydantic field (infinite where absent)."""
    low, high = -math.inf, math.inf
    for item in info.metadata:
        if isinstance(item, annotated_types.Ge):
            low = float(item.ge)
        elif isinstance(item, annotated_types.Le):
            high = float(item.le)
    return low, high


class Protocol(BaseModel):
    """An exercise protocol. Days are relative to injury onset (negative = before injury)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(default="custom", max_length=MAX_NAME_CHARS)
    modality: Modality = Field(description="exercise modality")
    intensity: float = Field(
        ge=0.0, le=1.2,
        description="relative intensity: fraction of VO2max / heart-rate reserve (humans) or "
                    "of maximal aerobic running speed (rodents), 0-1.2",
    )
    minutes_per_session: float = Field(ge=0.0, le=24 * 60, description="minutes per session")
    sessions_per_week: float = Field(ge=0.0, le=14.0, description="sessions per week, 0-14")
    start_day: float = Field(default=0.0, ge=-365.0, le=3650.0,
                             description="first day of the programme (day)")
    stop_day: float | None = Field(default=None, ge=-365.0, le=3650.0,
                                   description="day the programme stops (detraining after)")
    adherence: float = Field(default=1.0, ge=0.0, le=1.0, description="fraction of sessions done")
    species: Literal["rodent", "human", "any"] = "any"
    source: str = ""

    @field_validator("intensity", "minutes_per_session", "sessions_per_week", "start_day",
                     "stop_day", "adherence", mode="before")
    @classmethod
    def _number(cls, value: Any, info: ValidationInfo) -> Any:
        """Numbers only, finite and in range (no booleans, no numeric strings)."""
        if value is None and info.field_name == "stop_day":
            return None
        return checked_number(value, *field_bounds(cls.model_fields[info.field_name]))

    @field_validator("name", "source", mode="before")
    @classmethod
    def _text(cls, value: Any, info: ValidationInfo) -> Any:
        """Printable text: the name is echoed on one output line and stored in JSON, so
        control characters and unpaired surrogates (which cannot be written as UTF-8) are
        refused here rather than failing later on output."""
        if not isinstance(value, str):
            return value  # pydantic reports the type
        if info.field_name == "name" and any(
                unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in value):
            raise PydanticCustomError("text", "must be one line of text (no control "
                                              "characters or line breaks)")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise PydanticCustomError("text", "must be valid text (it holds an unpaired "
                                              "surrogate)") from None
        return value

    @model_validator(mode="after")
    def _check(self) -> Protocol:
        if self.stop_day is not None and self.stop_day <= self.start_day:
            raise ValueError(
                f"stop_day ({self.stop_day}) must be after start_day ({self.start_day})")
        return self

    @property
    def is_sedentary(self) -> bool:
        return self.modality == "none" or self.sessions_per_week == 0 or (
            self.minutes_per_session == 0)

    def with_schedule(self, start_day: float | None, stop_day: float | None) -> Protocol:
        data = self.model_dump()
        if start_day is not None:
            data["start_day"] = start_day
        if stop_day is not None:
            data["stop_day"] = stop_day
        return validate_protocol(data)


def _preset(name: str, modality: str, intensity: float, minutes: float, per_week: float,
            species: str, source: str, start_day: float = 0.0) -> Protocol:
    return Protocol(name=name, modality=modality, intensity=intensity,
                    minutes_per_session=minutes, sessions_per_week=per_week,
                    start_day=start_day, species=species, source=source)


PRESETS: dict[str, Protocol] = {p.name: p for p in (
    _preset("sedentary", "none", 0.0, 0.0, 0.0, "any", "no exercise (control)"),
    _preset("treadmill-low", "treadmill", 0.4, 30, 5, "rodent",
            "mirrors Bobinski 2011/2018 low-intensity treadmill, 10 m/min, 30 min/d, 5 d/wk "
            "(doi:10.1016/j.neuroscience.2011.07.075; doi:10.1097/j.pain.0000000000001109); "
            "relative intensity 0.4 assumed", start_day=3),
    _preset("treadmill-moderate", "treadmill", 0.6, 60, 5, "rodent",
            "mirrors Chen 2012 CCI rats, treadmill 60 min/d, 5 d/wk "
            "(doi:10.1213/ANE.0b013e31824c4ed4); relative intensity 0.6 assumed", start_day=3),
    _preset("treadmill-high", "treadmill", 0.85, 60, 5, "rodent",
            "mirrors Cobianchi 2010 long running, 20-52 cm/s, 60 min/d, 5 d/wk "
            "(doi:10.1016/j.neuroscience.2010.03.035); relative intensity 0.85 assumed",
            start_day=3),
    _preset("swimming", "swimming", 0.6, 60, 5, "rodent",
            "mirrors Shen & Cheng 2013 CCI rats, swim 60 min/d, 5 d/wk "
            "(doi:10.1111/pme.12057); relative intensity 0.6 assumed", start_day=3),
    _preset("wheel", "wheel", 0.4, 60, 7, "rodent",
            "voluntary wheel running as in Grace 2016 (doi:10.1097/j.pain.0000000000000607); "
            "daily running time and intensity assumed", start_day=3),
    _preset("aerobic-moderate", "aerobic", 0.6, 40, 3, "human",
            "mirrors Yoo 2015 painful DPN, supervised aerobic 30-50 min, 50-70% VO2R, "
            "3 d/wk, 16 wk (PMID 25800666)"),
    _preset("resistance", "resistance", 0.6, 45, 3, "human",
            "mirrors the strength arm of Stubbs 2019 (12 wk, 3 d/wk, 30-45 min); intensity "
            "as fraction of effort assumed"),
    _preset("combined", "combined", 0.6, 45, 3, "human",
            "mirrors Kluding 2012 aerobic + resistance, 30-50 min, 50-70% VO2max, 3-4 d/wk "
            "(PMC3436981)"),
    _preset("hiit", "hiit", 0.9, 20, 3, "human",
            "mirrors Hamed & Raoof 2014 HIIT, 85-95% HRmax, 20 min, 3 d/wk (review table, "
            "clinical.md section 1a)"),
)}


def _first_error(err: ValidationError, where: str) -> InputError:
    first = err.errors()[0]
    field = ".".join(_describe(x) if not isinstance(x, str) else x[:60]
                     for x in first["loc"]) or "protocol"
    kind = first["type"]
    if kind == "extra_forbidden":
        message = f"unknown field; allowed: {', '.join(Protocol.model_fields)}"
    elif kind == "missing":
        message = "required field is missing"
    else:
        message = first["msg"]
    return InputError(f"{where}: field {field!r}: {message}")


def validate_protocol(data: dict, where: str = "protocol") -> Protocol:
    try:
        return Protocol.model_validate(data)
    except ValidationError as err:
        raise _first_error(err, where) from None


def _where(path: Path, label: str = "protocol") -> str:
    """``protocol file PATH`` for messages; a path with control characters (a newline, a
    NUL) is quoted so that the error stays one printable line."""
    text = str(path)
    shown = text if text.isprintable() else ascii(text)
    return f"{label} file {shown}"


def _read_bounded(path: Path, label: str = "protocol") -> bytes:
    """At most :data:`MAX_PROTOCOL_BYTES` bytes of a regular file, or one InputError."""
    where = _where(path, label)
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):  # opening a FIFO blocks; a device may never end
            raise InputError(f"{where}: not a regular file")
        with path.open("rb") as handle:
            raw = handle.read(MAX_PROTOCOL_BYTES + 1)
    except OSError as err:
        raise InputError(f"{where}: cannot be read ({err.strerror or err})") from None
    except InputError:
        raise
    except ValueError as err:  # e.g. an embedded NUL in the path
        raise InputError(f"{where}: cannot be read ({err})") from None
    if len(raw) > MAX_PROTOCOL_BYTES:
        raise InputError(f"{where}: too large ({max(info.st_size, len(raw))} bytes; a "
                         f"{label} file may have at most {MAX_PROTOCOL_BYTES} bytes)")
    return raw


def _decode(raw: bytes, where: str) -> str:
    """Strict UTF-8 (a leading byte-order mark is allowed), or one InputError naming the
    line of the first bad byte."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        raise InputError(f"{where}: not UTF-8 text (byte 0x{raw[err.start]:02x} on line "
                         f"{line}); save the file as UTF-8") from None


def _too_deep(data: object, limit: int) -> bool:
    """Whether lists/mappings nest deeper than ``limit`` levels (the top is level 1).

    Breadth-first over distinct containers per level, so YAML aliases (shared or
    self-referencing nodes, "billion laughs") cost one visit per node and level instead of
    one per path, and a cycle simply runs past the limit."""
    level: list[object] = [data]
    for _ in range(limit):
        deeper: dict[int, object] = {}
        for node in level:
            children = node.values() if isinstance(node, dict) else node
            for child in children:  # type: ignore[union-attr]
                if isinstance(child, (dict, list, tuple, set, frozenset)):
                    deeper[id(child)] = child
        if not deeper:
            return False
        level = list(deeper.values())
    return True


def _brackets_too_deep(text: str, limit: int = _BRACKET_SCAN_DEPTH) -> bool:
    """Cheap pre-parse bound on flow nesting (``[[[[...]]]]``): PyYAML's scanner is
    quadratic in the flow depth (a 64 KiB file of brackets takes seconds) and both parsers
    recurse per level. Quoted strings and comments are skipped; brackets inside plain
    scalars still count, so the bound is far above :data:`MAX_PROTOCOL_DEPTH` and only
    refuses what cannot be a protocol. The exact depth is checked after parsing."""
    depth = 0
    for match in _BRACKET.finditer(_QUOTED_OR_COMMENT.sub("", text)):
        depth = depth + 1 if match.group() in "[{" else max(depth - 1, 0)
        if depth > limit:
            return True
    return False


def _parse(text: str, json_file: bool, where: str, shape: str = "a protocol is a flat "
           "mapping of fields to values") -> object:
    """The document, or one InputError (malformed, or nested too deeply)."""
    deep = InputError(f"{where}: nested more than {MAX_PROTOCOL_DEPTH} levels deep; {shape}")
    if _brackets_too_deep(text):
        raise deep
    try:
        data = json.loads(text) if json_file else yaml.safe_load(text)
    except RecursionError:
        raise deep from None
    except (json.JSONDecodeError, yaml.YAMLError) as err:
        raise InputError(f"{where}: malformed ({err.__class__.__name__})") from None
    except (ValueError, TypeError, OverflowError) as err:
        # constructors of YAML scalars (a date like 2024-13-45, !!float abc) and integers
        # longer than Python converts (4300 digits) raise plain errors, not YAMLError
        raise InputError(f"{where}: malformed ({_describe(str(err))})") from None
    if isinstance(data, (dict, list)) and _too_deep(data, MAX_PROTOCOL_DEPTH):
        raise deep
    return data


def load_document(path: str | os.PathLike[str], label: str, shape: str) -> tuple[object, str]:
    """A YAML or JSON document (safe loading, at most :data:`MAX_PROTOCOL_BYTES` bytes and
    :data:`MAX_PROTOCOL_DEPTH` levels, strict UTF-8) and the ``LABEL file PATH`` its messages
    start with; any problem is one :class:`InputError` naming the file. ``shape`` says what
    the document should look like (in the message on too deep nesting)."""
    path = Path(path)
    where = _where(path, label)
    text = _decode(_read_bounded(path, label), where)
    return _parse(text, path.suffix.lower() == ".json", where, shape), where


def load_protocol(path: str | os.PathLike[str]) -> Protocol:
    """Read a protocol from a YAML or JSON file (safe loading, bounded size and nesting,
    strict UTF-8); any problem is one :class:`InputError` naming the file."""
    path = Path(path)
    data, where = load_document(path, "protocol", "a protocol is a flat mapping of fields to "
                                                  "values")
    if not isinstance(data, dict):
        raise InputError(f"{where}: expected a mapping with the fields modality, "
                         "intensity, minutes_per_session, sessions_per_week, start_day, stop_day")
    data.setdefault("name", path.stem)
    return validate_protocol(data, where=where)


def resolve_protocol(spec: str | os.PathLike[str] | Protocol) -> Protocol:
    """A preset name, a path to a YAML/JSON protocol file, or a :class:`Protocol`."""
    if isinstance(spec, Protocol):
        return spec
    if isinstance(spec, os.PathLike):
        spec = os.fspath(spec)
    if not isinstance(spec, str):
        raise InputError(f"protocol: must be a preset name ({', '.join(PRESETS)}), a "
                         f".yaml/.json file or a Protocol, not {type(spec).__name__}")
    if spec in PRESETS:
        return PRESETS[spec]
    if Path(spec).suffix.lower() in (".yaml", ".yml", ".json"):
        return load_protocol(spec)
    raise InputError(f"protocol: unknown name {_describe(spec)}; allowed: "
                     f"{', '.join(PRESETS)} or a .yaml/.json file")


class ExerciseInputs(NamedTuple):
    """Protocol as arrays for the solver (a vmappable pytree).

    Session load, gates and normalisation are computed from these and the ``exercise``
    parameters inside :func:`exercise_signals`, so per-subject parameters (sex-specific
    TRIMP, responsiveness) and per-subject adherence flow through without rebuilding inputs.
    """

    minutes: Array  # minutes per session
    intensity: Array  # relative intensity (fraction)
    sessions_per_day: Array  # sessions/day averaged over the week, x adherence
    start: Array  # day
    stop: Array  # day
    human: Array  # 1 for human conditions, 0 for rodents (selects responsiveness)
    swimming: Array  # 1 for rodent swimming (selects the swimming gain)
    weights: dict  # mechanism -> modality weight


def session_trimp(minutes: Array, intensity: Array, ex: dict) -> Array:
    """Banister training impulse of one session (TRIMP units: minutes x weighted intensity)."""
    return minutes * intensity * ex["trimp_weight"] * jnp.exp(ex["trimp_exponent"] * intensity)


def exercise_inputs(protocol: Protocol, days: float, mechanisms: tuple[str, ...],
                    kind: str) -> ExerciseInputs:
    """Arrays of a protocol for a run of ``days`` days (``stop_day`` defaults to the end)."""
    per_day = 0.0 if protocol.is_sedentary else (
        protocol.sessions_per_week / 7.0 * protocol.adherence)
    stop = protocol.stop_day if protocol.stop_day is not None else float(days) + 1.0
    weights = MODALITY_WEIGHTS.get(protocol.modality, {})
    return ExerciseInputs(
        minutes=jnp.asarray(float(protocol.minutes_per_session)),
        intensity=jnp.asarray(float(protocol.intensity)),
        sessions_per_day=jnp.asarray(per_day),
        start=jnp.asarray(float(protocol.start_day)),
        stop=jnp.asarray(float(max(stop, protocol.start_day))),
        human=jnp.asarray(1.0 if kind == "human" else 0.0),
        swimming=jnp.asarray(1.0 if protocol.modality == "swimming" and kind == "rodent"
                             else 0.0),
        weights={m: jnp.asarray(weights.get(m, 1.0)) for m in mechanisms},
    )


def _impulse_response(t: Array, load: Array, start: Array, stop: Array, tau: Array) -> Array:
    """Exact solution of dX/dt = load * 1[start <= t < stop] - X / tau with X(-inf) = 0."""
    tc = jnp.clip(t, start, stop)
    return load * tau * (-jnp.expm1(-(tc - start) / tau)) * jnp.exp(-(t - tc) / tau)


def reference_load(ex: dict) -> Array:
    """Load rate (TRIMP/day) of the reference programme that normalises fitness and fatigue."""
    return (session_trimp(ex["reference_minutes"], ex["reference_intensity"], ex)
            * ex["reference_sessions_per_week"] / 7.0)


def opioid_gate(minutes: Array, intensity: Array, ex: dict) -> Array:
    """Fraction of a session's acute beta-endorphin response (smooth gates on intensity and
    duration; Goldfarb 1990, PMID 2141380)."""
    return (jax.nn.sigmoid((intensity - ex["opioid_intensity_threshold"])
                           / ex["opioid_intensity_width"])
            * jax.nn.sigmoid((minutes - ex["opioid_min_minutes"]) / 2.5))


def _adaptation(t: Array, level: Array, start: Array, stop: Array, tau_on: Array,
                tau_off: Array) -> Array:
    """Exact solution of ``dA/dt = (level - A) / tau_on`` for ``start <= t < stop`` and
    ``dA/dt = -A / tau_off`` after ``stop``, with ``A = 0`` before ``start``."""
    tc = jnp.clip(t, start, stop)
    built = level * (-jnp.expm1(-(tc - start) / tau_on))
    return built * jnp.exp(-(t - tc) / tau_off)


class Schedule(NamedTuple):
    """A training history and plan as consecutive phases (a vmappable pytree), e.g. one
    patient's diary weeks followed by a continued, changed or stopped programme.

    ``phases`` is an :class:`ExerciseInputs` whose fields carry a trailing phase axis
    ``(..., P)``, phases in time order and not overlapping (``stop_k <= start_{k+1}``);
    ``weights`` maps each mechanism to the phases' modality weights ``(..., P)``. A phase
    with no sessions is a pause (detraining), and unused phases start and stop after the
    last day. :func:`schedule` builds one from protocols.
    """

    phases: ExerciseInputs
    weights: dict


def schedule(protocols: Sequence[Protocol], mechanisms: tuple[str, ...], kind: str,
             size: int | None = None, end: float = 3650.0) -> Schedule:
    """A :class:`Schedule` from ``protocols`` (each with its ``start_day`` and
    ``stop_day``, in time order), padded with unused phases to ``size`` phases (a fixed
    shape compiles once). ``end``: last day any run reaches (unused phases begin after it)."""
    size = len(protocols) if size is None else size
    if not 0 < len(protocols) <= size:
        raise InputError(f"schedule: needs 1-{size} phases, got {len(protocols)}")
    previous = -math.inf
    for k, p in enumerate(protocols):
        if p.stop_day is None or p.start_day < previous:
            raise InputError(f"schedule: phase {k} must have a stop_day and start on or after "
                             f"the previous phase's stop ({previous:g})")
        previous = p.stop_day
    unused = Protocol(modality="none", intensity=0.0, minutes_per_session=0.0,
                      sessions_per_week=0.0, start_day=end + 1.0, stop_day=end + 2.0)
    phases = [exercise_inputs(p, end, mechanisms, kind)
              for p in (*protocols, *[unused] * (size - len(protocols)))]
    # numpy, not jax: a schedule is built outside any trace and passed in as data
    stacked = ExerciseInputs(*(np.stack([np.asarray(getattr(ph, f)) for ph in phases])
                               for f in ExerciseInputs._fields if f != "weights"),
                             weights={})
    return Schedule(phases=stacked,
                    weights={m: np.stack([np.asarray(ph.weights[m]) for ph in phases])
                             for m in mechanisms})


def _phase_fold(t: Array, level: Array, start: Array, stop: Array, tau_on: Array,
                tau_off: Array) -> Array:
    """Training adaptation ``A(t)`` over consecutive phases (last axis): within phase ``k``
    ``dA/dt = (level_k - A) / tau_on`` (``level_k > 0``), otherwise (pauses, gaps, after
    the last phase) ``dA/dt = -A / tau_off``, ``A = 0`` before the first phase; exact,
    phase by phase. With one phase this is :func:`_adaptation`."""
    a = jnp.zeros(jnp.shape(start[..., 0]))
    reached = start[..., 0]  # A is 0 before the first phase: no decay to count there
    for k in range(level.shape[-1]):
        gap_end = jnp.minimum(t, start[..., k])
        a = a * jnp.exp(-jnp.maximum(gap_end - reached, 0.0) / tau_off)
        reached = jnp.maximum(reached, gap_end)
        tc = jnp.clip(t, start[..., k], stop[..., k])
        tau = jnp.where(level[..., k] > 0, tau_on, tau_off)
        a = level[..., k] + (a - level[..., k]) * jnp.exp(-(tc - start[..., k]) / tau)
        reached = jnp.maximum(reached, jnp.minimum(tc, t))
    return a * jnp.exp(-jnp.maximum(t - reached, 0.0) / tau_off)


def schedule_weights(t: Array, plan: Schedule) -> dict[str, Array]:
    """Modality weights of the phase running at ``t`` or, between and after phases, of the
    last phase begun (before the first phase, the first's). One modality's weights thus
    apply to all adaptation present at ``t``: a change of modality re-weights what was built
    before it (an approximation; the weights scale a mechanism's whole drive)."""
    begun = plan.phases.start <= t
    index = jnp.maximum(jnp.sum(begun, axis=-1) - 1, 0)
    return {m: jnp.take_along_axis(w, index[..., None], axis=-1)[..., 0]
            for m, w in plan.weights.items()}


def modality_gain(inputs: ExerciseInputs, ex: dict) -> Array:
    """Overall gain of the modality (swimming vs running in rodents; 1 otherwise)."""
    return jnp.where(inputs.swimming > 0.5, ex["swimming_gain"], 1.0)


def exercise_signals(t: Array, inputs: ExerciseInputs | Schedule, ex: dict) -> ExerciseDrive:
    """Chronic, acute and stress signals at time ``t`` (day), of one programme or of a
    :class:`Schedule` (phases: adaptation folded phase by phase, strain and acute signals
    summed over phases, which do not overlap)."""
    phased = isinstance(inputs, Schedule)
    p = inputs.phases if phased else inputs
    load = session_trimp(p.minutes, p.intensity, ex) * p.sessions_per_day
    relative = load / reference_load(ex)
    saturation = relative / (relative + ex["load_half_saturation"])
    if phased:
        adaptation = _phase_fold(t, saturation, p.start, p.stop, ex["tau_adaptation"],
                                 ex["tau_detraining"])
    else:
        adaptation = _adaptation(t, saturation, p.start, p.stop, ex["tau_adaptation"],
                                 ex["tau_detraining"])
    strain = _impulse_response(t, relative, p.start, p.stop,
                               ex["tau_strain"]) / ex["tau_strain"]
    active = jnp.where((t >= p.start) & (t < p.stop), p.sessions_per_day, 0.0)
    opioid = active * opioid_gate(p.minutes, p.intensity, ex)
    if phased:
        strain, active, opioid = (jnp.sum(x, axis=-1) for x in (strain, active, opioid))
    human = p.human[..., 0] if phased else p.human
    gain = modality_gain(p, ex)
    gain = gain[..., 0] if phased else gain
    scale = jnp.where(human > 0.5, ex["responsiveness_human"],
                      ex["responsiveness_rodent"]) * gain
    return ExerciseDrive(
        chronic=scale * adaptation,
        acute_opioid=scale * opioid,
        acute_general=scale * active,
        stress=jax.nn.relu(strain - ex["strain_tolerance"]),
    )


def exercise_weights(t: Array, inputs: ExerciseInputs | Schedule) -> dict[str, Array]:
    """Modality weights on each mechanism's drive at ``t`` (:func:`schedule_weights` for a
    schedule)."""
    return schedule_weights(t, inputs) if isinstance(inputs, Schedule) else inputs.weights
