"""The what-if explorer: the callback equals direct API calls; the widget's observers call it."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest

import omsbayes
from omsbayes import EvidenceError
from omsbayes.explorer import UNKNOWN, Explorer

CASE = {"opsoclonus": "present", "ataxia": "present"}


def _same_as_api(model, state, evidence, age, candidates):
    dx = model.diagnose(evidence, age=age)
    pd.testing.assert_frame_equal(state.posterior, dx.table)
    voi = model.value_of_information(evidence, age=age, candidates=candidates)
    pd.testing.assert_frame_equal(state.value_of_information.table, voi.table)
    expected = voi.table.head(len(state.next_tests)).reset_index(drop=True)
    assert list(state.next_tests["candidate"]) == list(expected["candidate"])
    assert np.allclose(state.next_tests["expected_entropy_reduction"], expected["expected_entropy_reduction"])


def test_update_equals_direct_api_calls(model):
    explorer = Explorer(model, age=1.5, next_tests=4)
    offered = model.findings + model.tests
    assert explorer.variables == offered
    state = explorer.update(**CASE)
    assert state is explorer.state and state.age == 1.5 and state.evidence == CASE
    assert len(state.next_tests) == 4
    _same_as_api(model, state, CASE, 1.5, [v for v in offered if v not in CASE])
    # a negative body scan, then the age changed: each step is the API's answer
    state = explorer.update(body_imaging_mass="negative")
    _same_as_api(model, state, {**CASE, "body_imaging_mass": "negative"}, 1.5,
                 [v for v in offered if v not in CASE and v != "body_imaging_mass"])
    state = explorer.update(age=30)
    assert state.age == 30 and state.evidence == {**CASE, "body_imaging_mass": "negative"}
    assert np.allclose(state.diagnosis.posterior, model.diagnose(state.evidence, age=30).posterior)
    # "unknown" and None forget a finding; age None is unknown
    state = explorer.update(age=None, body_imaging_mass=UNKNOWN, ataxia=None)
    assert state.age is None and state.evidence == {"opsoclonus": "present"}
    assert np.allclose(state.diagnosis.posterior, model.diagnose({"opsoclonus": "present"}).posterior)


def test_compute_is_pure(model):
    explorer = Explorer(model, age=2.0, evidence={"opsoclonus": "present"})
    before = explorer.state
    other = explorer.compute(40.0, {"ataxia": "present"})
    assert explorer.state is before and explorer.state.evidence == {"opsoclonus": "present"}
    assert np.allclose(other.diagnosis.posterior, model.diagnose({"ataxia": "present"}, age=40.0).posterior)


def test_everything_known_leaves_no_next_test(model):
    explorer = Explorer(model, age=2.0, variables=["opsoclonus", "mibg_scan"])
    state = explorer.update(opsoclonus="present", mibg_scan="positive")
    assert state.value_of_information is None and state.next_tests.empty
    assert "Every finding and test offered is known" in state._repr_html_()


def test_options_and_html(model):
    explorer = Explorer(model, age=2.0, evidence=CASE)
    assert explorer.options("opsoclonus") == ("absent", UNKNOWN, "present")
    assert explorer.options("mibg_scan") == ("negative", UNKNOWN, "positive")
    assert explorer.options("onset")[0] == UNKNOWN and set(explorer.options("onset")[1:]) == set(model.states("onset"))
    html = explorer.state.next_tests_html()
    for label in explorer.state.next_tests["label"]:
        assert label in html


def test_errors_keep_the_previous_state(model):
    with pytest.raises(EvidenceError, match="findings and tests only; 'oms' is a condition"):
        Explorer(model, variables=["oms"])
    explorer = Explorer(model, age=2.0, evidence=CASE)
    before = explorer.state
    with pytest.raises(EvidenceError, match="no toggle for 'opsoklonus'.*Did you mean 'opsoclonus'"):
        explorer.update(opsoklonus="present")
    with pytest.raises(EvidenceError, match="has no state 'positive'; its toggle positions are"):
        explorer.update(opsoclonus="positive")
    with pytest.raises(EvidenceError, match="The 'age' parameter of diagnose must be a number of years"):
        explorer.update(age=-3)
    assert explorer.state is before


# ---------------------------------------------------------------------------
# the widget, without a browser
# ---------------------------------------------------------------------------
def test_widget_observers_call_the_callback(model):
    pytest.importorskip("ipywidgets")
    explorer = Explorer(model, age=1.5, evidence=CASE)
    ui = explorer.widget(top=6)
    controls = explorer.controls
    assert set(controls) == {"age", "age_known", *explorer.variables}
    assert controls["opsoclonus"].value == "present" and controls["mibg_scan"].value == UNKNOWN
    assert controls["opsoclonus"].description == model.label("opsoclonus")
    assert list(controls["mibg_scan"].options) == ["negative", UNKNOWN, "positive"]
    assert controls["age"].value == 1.5 and controls["age_known"].value
    assert ui.children  # the box was built

    calls = []
    original = explorer.update

    def spy(**kwargs):
        calls.append(kwargs)
        return original(**kwargs)

    explorer.update = spy
    controls["body_imaging_mass"].value = "negative"
    assert calls and calls[-1]["body_imaging_mass"] == "negative" and calls[-1]["age"] == 1.5
    expected = {**CASE, "body_imaging_mass": "negative"}
    assert explorer.state.evidence == expected
    assert np.allclose(explorer.state.diagnosis.posterior, model.diagnose(expected, age=1.5).posterior)
    assert explorer._widgets["next_tests"].value == explorer.state.next_tests_html()

    controls["age"].value = 30.0
    assert calls[-1]["age"] == 30.0 and explorer.state.age == 30.0
    controls["age_known"].value = False
    assert calls[-1]["age"] is None and explorer.state.age is None
    controls["opsoclonus"].value = UNKNOWN
    assert "opsoclonus" not in explorer.state.evidence


def test_widget_draws_the_posterior_with_the_package_plot(model, monkeypatch):
    pytest.importorskip("ipywidgets")
    import omsbayes.plotting as plotting

    drawn = []
    original = plotting.plot_diagnosis

    def spy(diagnosis, ax=None, top=None, **options):
        drawn.append((diagnosis, top))
        return original(diagnosis, ax=ax, top=top, **options)

    monkeypatch.setattr(plotting, "plot_diagnosis", spy)
    explorer = Explorer(model, age=1.5, evidence=CASE)
    explorer.widget(top=5)
    assert drawn[-1] == (explorer.state.diagnosis, 5)
    explorer.controls["myoclonus"].value = "present"
    assert drawn[-1][0] is explorer.state.diagnosis and explorer.state.evidence["myoclonus"] == "present"


def test_widget_reports_impossible_evidence_and_keeps_the_state(model, monkeypatch):
    pytest.importorskip("ipywidgets")
    explorer = Explorer(model, age=1.5, evidence=CASE)
    explorer.widget()
    before = explorer.state

    def impossible(*args, **kwargs):
        raise EvidenceError("The model gives this evidence probability zero.")

    monkeypatch.setattr(explorer, "compute", impossible)
    explorer.controls["mibg_scan"].value = "positive"
    assert explorer.state is before
    assert "probability zero" in explorer._widgets["next_tests"].value


def test_widget_without_ipywidgets_gives_the_install_command(model, monkeypatch):
    monkeypatch.setitem(sys.modules, "ipywidgets", None)
    explorer = Explorer(model, age=2.0)
    with pytest.raises(ImportError, match=r"python -m pip install 'omsbayes\[notebook\]'"):
        explorer.widget()


def test_exported():
    assert omsbayes.Explorer is Explorer
