"""The what-if explorer: the callback equals direct API calls; the widget's observers call it."""

from __future__ import annotations

import html
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
    assert model.label("opsoclonus") in _row_label(ui, controls["opsoclonus"])
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


def _row_label(ui, toggle) -> str:
    """The text of the label beside a toggle in the widget's tree."""
    stack = [ui]
    while stack:
        box = stack.pop()
        children = list(getattr(box, "children", ()))
        if toggle in children:
            return children[0].value
        stack.extend(children)
    raise AssertionError("toggle not in the widget")


def test_update_from_code_moves_the_controls(model):
    pytest.importorskip("ipywidgets")
    explorer = Explorer(model, age=1.5, evidence=CASE)
    explorer.widget()
    controls = explorer.controls
    calls = []
    original = explorer.compute

    def spy(age, evidence):
        calls.append((age, dict(evidence)))
        return original(age, evidence)

    explorer.compute = spy
    state = explorer.update(age=30, mibg_scan="positive", opsoclonus=UNKNOWN)
    assert len(calls) == 1  # moving the controls does not recompute again
    assert controls["mibg_scan"].value == "positive" and controls["opsoclonus"].value == UNKNOWN
    assert controls["age"].value == 30 and controls["age_known"].value
    assert explorer._widgets["next_tests"].value == state.next_tests_html()
    explorer.update(age=2.42)  # not a stop of the slider: added to it
    assert controls["age"].value == 2.42 and ("2.42 years", 2.42) in controls["age"].options
    explorer.update(age=None)
    assert controls["age_known"].value is False and explorer.state.age is None
    assert len(calls) == 3


def test_widget_layout_puts_results_beside_the_controls(model):
    widgets = pytest.importorskip("ipywidgets")
    explorer = Explorer(model, age=1.5, evidence=CASE)
    ui = explorer.widget()
    assert isinstance(ui, widgets.HBox) and len(ui.children) == 2
    left, right = ui.children
    assert explorer._widgets["plot"] in right.children and explorer._widgets["next_tests"] in right.children
    tabs = next(c for c in left.children if isinstance(c, widgets.Tab))
    for pane in tabs.children:  # the long list of toggles scrolls instead of pushing the results down
        assert pane.layout.overflow == "auto" and pane.layout.max_height
    for name in explorer.variables:  # full labels, in a widget that wraps, not a cut-off description
        assert _row_label(ui, explorer.controls[name]).endswith(f">{html.escape(model.label(name))}</span>")
        assert explorer.controls[name].description == ""


def test_age_slider_suits_children():
    from omsbayes.explorer import age_choices, age_text

    choices = age_choices()
    years = [y for _, y in choices]
    assert years == sorted(years) and years[0] == 0 and years[-1] >= 90
    assert sum(y < 18 for y in years) >= len(years) / 2  # a linear 0-90 slider gives children 20%
    assert sum(y < 2 for y in years) >= 10  # month by month through infancy
    assert age_text(0.25) == "3 months" and age_text(1.5) == "1 year 6 months" and age_text(1) == "1 year"
    assert age_text(7) == "7 years" and age_text(1 / 12) == "1 month"


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


# ---------------------------------------------------------------------------
# served outside Jupyter: omsbayes explorer (Voila)
# ---------------------------------------------------------------------------
def test_cli_writes_an_app_notebook_that_builds_the_explorer(tmp_path, capsys):
    nbformat = pytest.importorskip("nbformat")
    widgets = pytest.importorskip("ipywidgets")
    from omsbayes.cli import main

    path = tmp_path / "app.ipynb"
    from .conftest import TINY_MODEL

    assert main(["--model", str(TINY_MODEL), "explorer", "--write", str(path), "opsoclonus=present", "--age", "1.5"]) == 0
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    code = "".join(c.source for c in notebook.cells if c.cell_type == "code")
    namespace: dict = {}
    exec(compile(code.rsplit("\n", 1)[0], str(path), "exec"), namespace)  # all but the display line
    explorer = namespace["explorer"]
    assert explorer.state.age == 1.5 and explorer.state.evidence == {"opsoclonus": "present"}
    assert explorer.model.name == "tiny"  # --model is passed on to the app
    assert isinstance(eval(code.rsplit("\n", 1)[1], namespace), widgets.HBox)
    assert "not a medical device" in notebook.cells[0].source


def test_cli_explorer_checks_the_case_and_builds_the_voila_command(tmp_path, capsys):
    from omsbayes.cli import main
    from omsbayes.cli.explorer import voila_command

    path = tmp_path / "app.ipynb"
    assert main(["explorer", "--write", str(path), "opsoklonus=present"]) == 2
    assert "Did you mean 'opsoclonus'" in capsys.readouterr().err and not path.exists()
    cmd = voila_command(path, 8899, "0.0.0.0", no_browser=True)
    assert cmd[1:4] == ["-m", "voila", str(path)]
    assert "--port=8899" in cmd and "--Voila.ip=0.0.0.0" in cmd and "--no-browser" in cmd
