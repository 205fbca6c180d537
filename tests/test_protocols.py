"""Protocols: presets, files, validation and the closed-form Banister signals."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest
from scipy.integrate import solve_ivp

from exerpain.errors import InputError
from exerpain.model.protocols import (
    PRESETS,
    _adaptation,
    _impulse_response,
    load_protocol,
    resolve_protocol,
    validate_protocol,
)

REQUIRED_PRESETS = {"sedentary", "treadmill-low", "treadmill-moderate", "treadmill-high",
                    "swimming", "wheel", "aerobic-moderate", "resistance", "combined", "hiit"}


def test_required_presets_exist_and_cite_their_source():
    assert set(PRESETS) >= REQUIRED_PRESETS
    for name, p in PRESETS.items():
        assert p.source, name
        if name != "sedentary":
            assert any(tag in p.source for tag in ("doi:", "PMID", "PMC", "20")), name


@pytest.mark.parametrize("start,stop,tau", [(0.0, 30.0, 42.0), (-42.0, 0.0, 7.0),
                                            (5.0, 6.0, 11.0)])
def test_impulse_response_matches_numerical_integration(start, stop, tau):
    """Closed form of dX/dt = L 1[start <= t < stop] - X / tau against solve_ivp."""
    load = 3.7
    ts = np.linspace(start - 5, stop + 60, 50)
    sol = solve_ivp(lambda t, x: [load * (start <= t < stop) - x[0] / tau],
                    (ts[0], ts[-1]), [0.0], t_eval=ts, rtol=1e-10, atol=1e-12,
                    max_step=0.05)
    closed = np.asarray(_impulse_response(jnp.asarray(ts), load, start, stop, tau))
    np.testing.assert_allclose(closed, sol.y[0], rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("tau_on,tau_off", [(10.0, 14.0), (3.0, 60.0), (30.0, 5.0)])
def test_adaptation_builds_and_decays_with_its_own_time_constants(tau_on, tau_off):
    """Closed form of dA/dt = (s - A)/tau_on in training, -A/tau_off after it, against
    solve_ivp; saturation, build-up and decay are separate parameters."""
    level, start, stop = 0.8, 3.0, 38.0
    ts = np.linspace(0.0, 110.0, 60)
    sol = solve_ivp(lambda t, a: [(level - a[0]) / tau_on if start <= t < stop
                                  else (-a[0] / tau_off if t >= stop else 0.0)],
                    (ts[0], ts[-1]), [0.0], t_eval=ts, rtol=1e-10, atol=1e-12, max_step=0.05)
    closed = np.asarray(_adaptation(jnp.asarray(ts), level, start, stop, tau_on, tau_off))
    np.testing.assert_allclose(closed, sol.y[0], rtol=1e-4, atol=1e-6)
    after = np.asarray(_adaptation(jnp.asarray([stop, stop + tau_off]), level, start, stop,
                                   tau_on, tau_off))
    np.testing.assert_allclose(after[1] / after[0], np.exp(-1.0), rtol=1e-9)


def test_protocol_file_yaml_and_json(tmp_path):
    yml = tmp_path / "p.yaml"
    yml.write_text("modality: swimming\nintensity: 0.5\nminutes_per_session: 45\n"
                   "sessions_per_week: 4\nstart_day: -7\nstop_day: 21\n")
    p = load_protocol(yml)
    assert (p.modality, p.start_day, p.stop_day, p.name) == ("swimming", -7, 21, "p")
    js = tmp_path / "q.json"
    js.write_text('{"modality": "cycling", "intensity": 0.7, "minutes_per_session": 30, '
                  '"sessions_per_week": 3, "start_day": 0, "stop_day": null}')
    assert resolve_protocol(str(js)).modality == "cycling"


@pytest.mark.parametrize("data,field", [
    ({"intensity": 1.5}, "intensity"),
    ({"minutes_per_session": 24 * 60 + 1}, "minutes_per_session"),
    ({"minutes_per_session": -5}, "minutes_per_session"),
    ({"sessions_per_week": 20}, "sessions_per_week"),
    ({"modality": "flying"}, "modality"),
    ({"start_day": 10, "stop_day": 5}, "protocol"),
    ({"colour": "red"}, "colour"),
])
def test_bad_protocol_fields_are_named(data, field):
    base = {"modality": "treadmill", "intensity": 0.5, "minutes_per_session": 30,
            "sessions_per_week": 5}
    with pytest.raises(InputError, match=field):
        validate_protocol({**base, **data})


def test_malformed_and_unknown_protocols(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("modality: [unclosed\n")
    with pytest.raises(InputError, match="malformed"):
        load_protocol(bad)
    listy = tmp_path / "list.json"
    listy.write_text("[1, 2]")
    with pytest.raises(InputError, match="mapping"):
        load_protocol(listy)
    with pytest.raises(InputError, match="unknown name"):
        resolve_protocol("marathon")
    with pytest.raises(InputError, match="cannot be read"):
        load_protocol(tmp_path / "missing.yaml")
