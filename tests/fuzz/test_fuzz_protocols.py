"""Fuzzing protocol files (Hypothesis): JSON and YAML documents whose fields take values of
every type (booleans, numeric strings, huge integers, NaN, nested lists and mappings,
unicode), rendered to text and then mutated at the byte level (non-UTF-8 bytes, truncation,
deep nesting, padding past the size limit, YAML anchors and aliases). Every file must load as
a :class:`Protocol` or fail with one :class:`InputError`; any other exception fails the test
with the file that caused it.
"""

from __future__ import annotations

import json
import math
import tempfile
import unicodedata
from pathlib import Path
from typing import get_args

import yaml
from hypothesis import event, given
from hypothesis import strategies as st

from exerpain.errors import InputError
from exerpain.model.protocols import (
    MAX_PROTOCOL_BYTES,
    PRESETS,
    Modality,
    Protocol,
    load_protocol,
    resolve_protocol,
)

WORK = Path(tempfile.mkdtemp(prefix="exerpain-fuzz-protocols-"))
FIELDS = list(Protocol.model_fields)
NUMERIC = ("intensity", "minutes_per_session", "sessions_per_week", "start_day", "stop_day",
           "adherence")

junk_text = st.one_of(
    st.text(max_size=16),
    st.sampled_from(["", " ", "0.5", "1e999", "nan", ".nan", "-.inf", "true", "yes", "no",
                     "~", "null", "0x1F", "1_000", "2024-13-45", "\u0663", "\x00", "\ud800",
                     "treadmill ", "TREADMILL", "&a", "*a", "!!binary", "[", "{", "|",
                     "a" * 300]))
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-10**6, 10**6), st.integers(-10**40, 10**40),
    st.floats(allow_nan=True, allow_infinity=True), junk_text,
    st.sampled_from(list(get_args(Modality)) + ["rodent", "human", "any"]))
values = st.recursive(scalars, lambda children: st.one_of(
    st.lists(children, max_size=4),
    st.dictionaries(st.text(max_size=6), children, max_size=4)), max_leaves=12)
valid = {
    "modality": st.sampled_from(get_args(Modality)),
    "intensity": st.one_of(st.floats(0, 1.2), st.integers(0, 1)),
    "minutes_per_session": st.one_of(st.integers(0, 1440), st.floats(0, 1440)),
    "sessions_per_week": st.one_of(st.integers(0, 14), st.floats(0, 14)),
}
optional = {
    "name": st.text(st.characters(min_codepoint=32, max_codepoint=0x2FFF), max_size=20),
    "start_day": st.one_of(st.integers(-365, 100), st.floats(-365, 100)),
    "stop_day": st.one_of(st.none(), st.integers(101, 3650)),
    "adherence": st.floats(0, 1),
    "species": st.sampled_from(["rodent", "human", "any"]),
    "source": st.text(max_size=40),
}
near_miss = {  # just outside the ranges, or the wrong spelling
    "modality": st.sampled_from(["Treadmill", "walking", ""]),
    "intensity": st.sampled_from([-0.01, 1.21, 1e300]),
    "minutes_per_session": st.sampled_from([-1, 1441, 10**20]),
    "sessions_per_week": st.sampled_from([-0.5, 14.5]),
    "start_day": st.sampled_from([-366, 3651, 200]),
    "stop_day": st.sampled_from([-400, 0, 5000]),
    "adherence": st.sampled_from([-0.1, 1.01]),
    "species": st.sampled_from(["rat", "Human"]),
    "name": st.sampled_from(["a" * 201, "tab\there", "\ud800"]),
    "source": st.sampled_from(["\ud800", "\x00"]),
}
# A valid protocol with up to three fields replaced (by values of any type or near misses),
# up to two deleted, and sometimes an unknown key: most cases reach the field validators.
documents = st.one_of(
    st.tuples(
        st.fixed_dictionaries(valid, optional=optional),
        st.lists(st.tuples(st.sampled_from(FIELDS), st.one_of(
            values, st.sampled_from(FIELDS).flatmap(lambda f: near_miss[f]))), max_size=3),
        st.lists(st.sampled_from(FIELDS), max_size=2),
        st.dictionaries(st.text(max_size=8), values, max_size=1),
    ).map(lambda t: {**t[3], **{k: v for k, v in t[0].items() if k not in t[2]},
                     **dict(t[1])}),
    values,
)


def _render(doc: object, fmt: str) -> bytes:
    """The document as JSON or YAML text, encoded so that lone surrogates become invalid
    UTF-8 bytes (themselves a case for the loader)."""
    if fmt == "yaml":
        try:
            text = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)
        except (yaml.YAMLError, ValueError, TypeError):
            text = json.dumps(doc, ensure_ascii=False)  # JSON is YAML too
    else:
        text = json.dumps(doc, ensure_ascii=False, allow_nan=True)
    return text.encode("utf-8", "surrogatepass")


def _mutate(raw: bytes, how: tuple) -> bytes:
    kind, position, payload, count = how
    cut = position % (len(raw) + 1)
    if kind == "insert":
        return raw[:cut] + payload + raw[cut:]
    if kind == "truncate":
        return raw[:cut]
    if kind == "nest":  # a field's value wrapped in deep brackets, or the whole document
        return b"[" * count + raw + b"]" * count
    if kind == "nest_field":
        return (b'{"intensity": ' + b"[" * count + b"0.5" + b"]" * count + b"}")
    if kind == "pad":  # a comment or spaces taking the file past the size limit
        return raw + b"\n#" + b"x" * (MAX_PROTOCOL_BYTES - len(raw) + count)
    if kind == "aliases":
        lines = [b'a0: &a0 ["lol", "lol", "lol"]']
        lines += [b"a%d: &a%d [" % (i, i) + b", ".join([b"*a%d" % (i - 1)] * 3) + b"]"
                  for i in range(1, count % 40 + 1)]
        return b"\n".join(lines) + b"\n" + raw
    if kind == "bom":
        return b"\xef\xbb\xbf" + raw
    return raw


mutations = st.one_of(
    st.just(("none", 0, b"", 0)), st.just(("none", 0, b"", 0)), st.just(("none", 0, b"", 0)),
    st.tuples(st.just("insert"), st.integers(0, 10**6), st.binary(min_size=1, max_size=8),
              st.just(0)),
    st.tuples(st.just("truncate"), st.integers(0, 10**6), st.just(b""), st.just(0)),
    st.tuples(st.sampled_from(["nest", "nest_field"]), st.just(0), st.just(b""),
              st.integers(0, 40_000)),
    st.tuples(st.just("pad"), st.just(0), st.just(b""), st.integers(-64, 64)),
    st.tuples(st.just("aliases"), st.just(0), st.just(b""), st.integers(0, 60)),
    st.tuples(st.just("bom"), st.just(0), st.just(b""), st.just(0)),
)


def _reason(message: str, skip: int) -> str:
    """The kind of refusal, for Hypothesis' statistics (field errors grouped by field)."""
    rest = message[len("protocol file ") + skip + 2:]
    return rest.split(":")[0] if rest.startswith("field") else rest.split(" (")[0][:40]


def _check(protocol: Protocol) -> None:
    """A protocol that loads is usable: finite numbers in their ranges, printable name."""
    for field in NUMERIC:
        value = getattr(protocol, field)
        assert value is None or (isinstance(value, float) and math.isfinite(value)), field
    assert protocol.stop_day is None or protocol.stop_day > protocol.start_day
    protocol.name.encode("utf-8")
    assert len(protocol.name.splitlines()) <= 1
    assert not any(unicodedata.category(c) == "Cc" for c in protocol.name)


@given(doc=documents, fmt=st.sampled_from(["json", "yaml"]),
       suffix=st.sampled_from([".json", ".yaml", ".yml", ".JSON"]), how=mutations)
def test_protocol_files_load_or_fail_cleanly(doc, fmt, suffix, how):
    path = WORK / f"protocol{suffix}"
    path.write_bytes(_mutate(_render(doc, fmt), how))
    try:
        protocol = load_protocol(path)
    except InputError as err:
        message = str(err)
        assert message.startswith(f"protocol file {path}") and "\n" not in message
        event("InputError: " + _reason(message, len(str(path))))
        return
    event("loaded")
    _check(protocol)
    assert resolve_protocol(str(path)) == protocol


@given(spec=st.one_of(st.sampled_from(list(PRESETS)), junk_text,
                      junk_text.map(lambda s: s + ".yaml"),
                      st.sampled_from([".json", "/", "/dev/null.json", "a\x00.yml", "~/x.yaml",
                                       "../" * 50 + "x.json", "x" * 5000 + ".yaml"])))
def test_protocol_specs_resolve_or_fail_cleanly(spec):
    try:
        protocol = resolve_protocol(spec)
    except InputError as err:
        assert "\n" not in str(err)
        return
    _check(protocol)
