"""What-if scenarios and sweeps, each point checked against diagnose / with_parameters."""

from __future__ import annotations

import json

import numpy as np
import pytest

import omsbayes
from omsbayes import EvidenceError
from omsbayes.cli._common import to_jsonable

from .conftest import TINY_MODEL

_TINY = omsbayes.load_model(TINY_MODEL)
CASE = {"opsoclonus": "present", "ataxia": "present"}


def _posterior(result_table, key, value):
    part = result_table[result_table[key] == value]
    return part.set_index("condition")["posterior"]


def test_what_if_scenarios_equal_diagnose():
    scenarios = {
        "no ataxia": {"ataxia": None},
        "ataxia uncertain": {"ataxia": 0.6},
        "urine positive": {"urine_catecholamines": "positive"},
        "adult": {"age": 30},
        "age unknown": {"age": None},
        "rarer OMS trigger": {"oms.p_given_nb": 0.01},
        "both": {"opsoclonus": "absent", "oms.opsoclonus": 0.5},
    }
    result = _TINY.what_if(CASE, scenarios, age=2.0)
    expected = {
        "baseline": _TINY.diagnose(CASE, age=2.0),
        "no ataxia": _TINY.diagnose({"opsoclonus": "present"}, age=2.0),
        "ataxia uncertain": _TINY.diagnose({"opsoclonus": "present", "ataxia": 0.6}, age=2.0),
        "urine positive": _TINY.diagnose({**CASE, "urine_catecholamines": "positive"}, age=2.0),
        "adult": _TINY.diagnose(CASE, age=30),
        "age unknown": _TINY.diagnose(CASE),
        "rarer OMS trigger": _TINY.with_parameters({"oms.p_given_nb": 0.01}).diagnose(CASE, age=2.0),
        "both": _TINY.with_parameters({"oms.opsoclonus": 0.5}).diagnose({**CASE, "opsoclonus": "absent"}, age=2.0),
    }
    for name, dx in expected.items():
        got = _posterior(result.table, "scenario", name)
        assert np.allclose(got[dx.posterior.index], dx.posterior, atol=1e-14), name
        assert result.scenarios.set_index("scenario").loc[name, "top"] == dx.top
    baseline = expected["baseline"].posterior
    table = result.table
    assert np.allclose(table["change"], table["posterior"] - table["baseline"])
    assert np.allclose(table["baseline"], np.tile(baseline.to_numpy(), len(expected)))
    assert table.groupby("scenario")["top"].sum().eq(1).all()
    assert result.scenarios.set_index("scenario").loc["no ataxia", "changes"] == "ataxia dropped"


def test_what_if_age_as_a_bin():
    result = _TINY.what_if(CASE, {"infant": {"age": "infant"}}, age=30)
    expected = _TINY.diagnose({**CASE, "age": "infant"}).posterior
    assert np.allclose(_posterior(result.table, "scenario", "infant")[expected.index], expected, atol=1e-14)


def test_what_if_errors():
    with pytest.raises(EvidenceError, match=r"Scenario 'x' of what_if changes 'ataxya', which is neither a variable nor a parameter of the model\. Did you mean 'ataxia'\?"):
        _TINY.what_if(CASE, {"x": {"ataxya": "present"}})
    with pytest.raises(EvidenceError, match=r"The scenario name 'baseline' is reserved"):
        _TINY.what_if(CASE, {"baseline": {"ataxia": None}})
    with pytest.raises(EvidenceError, match=r"Scenario 'x' of what_if must be a mapping"):
        _TINY.what_if(CASE, {"x": ["ataxia"]})
    with pytest.raises(EvidenceError, match=r"The scenarios of what_if must be a mapping"):
        _TINY.what_if(CASE, [("x", {})])
    with pytest.raises(EvidenceError, match=r"The value of parameter 'oms.opsoclonus' must be between 0 and 1"):
        _TINY.what_if(CASE, {"x": {"oms.opsoclonus": 2}})


def test_sweep_age_equals_diagnose_in_every_bin():
    result = _TINY.sweep_age(CASE)
    assert list(result.points["age_bin"]) == list(_TINY.age_states)
    for age_bin in _TINY.age_states:
        expected = _TINY.diagnose({**CASE, "age": age_bin}).posterior
        got = _posterior(result.table, "age_bin", age_bin)
        assert np.allclose(got[expected.index], expected, atol=1e-14)
    at_ages = _TINY.sweep_age(CASE, ages=[0.5, 3.0, 40.0])
    for age in (0.5, 3.0, 40.0):
        expected = _TINY.diagnose(CASE, age=age).posterior
        assert np.allclose(_posterior(at_ages.table, "age_years", age)[expected.index], expected, atol=1e-14)
    with pytest.raises(EvidenceError, match="sweep_age varies the age itself"):
        _TINY.sweep_age({**CASE, "age": "infant"})


def test_sweep_parameter_equals_with_parameters_reinference():
    result = _TINY.sweep_parameter(CASE, "oms.opsoclonus", values=[0.3, 0.6, 0.9], age=2.0)
    for value in (0.3, 0.6, 0.9):
        expected = _TINY.with_parameters({"oms.opsoclonus": value}).diagnose(CASE, age=2.0).posterior
        assert np.allclose(_posterior(result.table, "value", value)[expected.index], expected, atol=1e-14)
    # the exact sensitivity function gives the same curve
    sens = _TINY.sensitivity(CASE, age=2.0, target="oms")
    oms = result.table[result.table["condition"] == "oms"]
    assert np.allclose(oms["posterior"], sens.posterior_at("oms.opsoclonus", oms["value"].to_numpy()), atol=1e-12)


def test_sweep_parameter_pattern_and_factors_group_member_and_default_range():
    result = _TINY.sweep_parameter(CASE, "nb.rate.*", factors=[0.1, 1.0, 10.0], age=2.0)
    assert result.table["parameters"].iloc[0] == "nb.rate.paediatric, nb.rate.adults" and result.log_x
    for factor in (0.1, 10.0):
        changed = {n: _TINY.values[n] * factor for n in ("nb.rate.paediatric", "nb.rate.adults")}
        expected = _TINY.with_parameters(changed).diagnose(CASE, age=2.0).posterior
        assert np.allclose(_posterior(result.table, "factor", factor)[expected.index], expected, atol=1e-14)
    member = _TINY.sweep_parameter({**CASE, "onset": "acute"}, "oms.onset.acute", values=[0.1, 0.8], age=2.0)
    expected = _TINY.with_parameters({"oms.onset.acute": 0.8}).diagnose({**CASE, "onset": "acute"}, age=2.0).posterior
    assert np.allclose(_posterior(member.table, "value", 0.8)[expected.index], expected, atol=1e-14)
    default = _TINY.sweep_parameter(CASE, "oms.opsoclonus", age=2.0)
    row = _TINY.parameters.loc["oms.opsoclonus"]
    assert default.points["value"].iloc[0] == pytest.approx(row["low"]) and default.points["value"].iloc[-1] == pytest.approx(row["high"])
    assert len(default.points) == 21


def test_sweep_parameter_errors():
    with pytest.raises(EvidenceError, match=r"Unknown parameter 'oms.opsoclonu' in sweep_parameter\. Did you mean 'oms.opsoclonus'\?"):
        _TINY.sweep_parameter(CASE, "oms.opsoclonu")
    with pytest.raises(EvidenceError, match=r"The pattern 'zzz\.\*' of sweep_parameter matches no parameter"):
        _TINY.sweep_parameter(CASE, "zzz.*")
    with pytest.raises(EvidenceError, match="values= sets one parameter, but 2 were named"):
        _TINY.sweep_parameter(CASE, "nb.rate.*", values=[0.1])
    with pytest.raises(EvidenceError, match=r"At factor 10000 the sweep of oms.rate.adults makes an invalid table: the table of .oms. has entries outside"):
        _TINY.sweep_parameter(CASE, "oms.rate.adults", factors=[1, 1e4], age=30)


def test_default_model_sweep_of_neuroblastoma_incidence(model):
    evidence = {"opsoclonus": "present", "ataxia": "present"}
    result = model.sweep_parameter(evidence, "neuroblastoma.incidence.*", factors=[0.1, 10.0], age=1.5)
    names = [n for n in model.parameter_names if n.startswith("neuroblastoma.incidence.")]
    expected = model.with_parameters({n: model.values[n] * 10.0 for n in names}).diagnose(evidence, age=1.5).posterior
    assert np.allclose(_posterior(result.table, "factor", 10.0)[expected.index], expected, atol=1e-13)
    low = _posterior(result.table, "factor", 0.1)
    assert low["neuroblastoma"] < expected["neuroblastoma"]


def test_evidence_trajectory_equals_diagnose_on_each_prefix():
    evidence = {"opsoclonus": "present", "ataxia": 0.7, "urine_catecholamines": "negative"}
    result = _TINY.evidence_trajectory(evidence, order=["urine_catecholamines", "opsoclonus"], age=2.0)
    points = result.points
    assert list(points["item"].iloc[1:]) == ["urine_catecholamines", "opsoclonus", "ataxia"]
    assert points["item_label"].iloc[0] == "age only"
    prefixes = [{}, {"urine_catecholamines": "negative"}, {"urine_catecholamines": "negative", "opsoclonus": "present"}, evidence]
    for step, prefix in enumerate(prefixes):
        expected = _TINY.diagnose(prefix, age=2.0).posterior
        assert np.allclose(_posterior(result.table, "point", step)[expected.index], expected, atol=1e-14)
    with pytest.raises(EvidenceError, match=r"names 'fever', which is not in the evidence"):
        _TINY.evidence_trajectory(evidence, order=["fever"])
    with pytest.raises(EvidenceError, match="names an item twice"):
        _TINY.evidence_trajectory(evidence, order=["ataxia", "ataxia"])


# ---------------------------------------------------------------------------
# plots and result objects
# ---------------------------------------------------------------------------
def test_what_if_grouped_bars():
    result = _TINY.what_if(CASE, {"no ataxia": {"ataxia": None}}, age=2.0)
    ax = result.plot(top=2)
    base, changed = ax.containers
    assert base.get_label() == "baseline" and changed.get_label() == "no ataxia"
    shown = [t.get_text() for t in ax.get_yticklabels()]
    by_label = result.table[result.table["scenario"] == "no ataxia"].set_index("label")["posterior"]
    assert np.allclose([b.get_width() for b in changed], by_label[shown])
    data = json.loads(json.dumps(to_jsonable(result.to_dict())))
    assert [s["scenario"] for s in data["scenarios"]] == ["baseline", "no ataxia"]
    assert "no ataxia" in result.report()


def test_sweep_lines_follow_the_table():
    result = _TINY.sweep_age(CASE)
    ax = result.plot(conditions=["oms", "aca"])
    lines = {line.get_label(): line for line in ax.lines}
    assert set(lines) == {"OMS", "ACA"}
    assert np.allclose(lines["OMS"].get_ydata(), result.wide()["oms"])
    assert [t.get_text() for t in ax.get_xticklabels()] == [
        "infant (<1 y)", "toddler (1-3 y)", "child (4-11 y)", "adolescent (12-17 y)", "adult (18-49 y)", "older adult (50+ y)"
    ]
    trajectory = _TINY.evidence_trajectory(CASE, age=2.0)
    ax = trajectory.plot(top=2)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["age only", "+ Opsoclonus = present", "+ Ataxia = present"]
    swept = _TINY.sweep_parameter(CASE, "nb.rate.*", factors=[0.1, 1, 10], age=2.0)
    ax = swept.plot(top=1)
    assert ax.get_xscale() == "log" and np.allclose(ax.lines[0].get_xdata(), [0.1, 1, 10])
    assert "Posterior against" in swept._repr_html_()
