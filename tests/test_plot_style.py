"""One look for every plot: palette and fonts from plotting/style.py, human labels, readable at slide size.

Checked on the artists of every plot kind drawn for the demo case (as the
gallery draws them), never on pixels.
"""

from __future__ import annotations

import re

import matplotlib.pyplot as plt
import pytest
from matplotlib.colors import to_rgba
from matplotlib.layout_engine import ConstrainedLayoutEngine
from matplotlib.patches import Rectangle

import omsbayes
from omsbayes.plotting import plot_sweep
from omsbayes.plotting.style import COLORS, CYCLE, MIN_FONT_SIZE, TITLE_WIDTH, set_title

DEMO = "pub-board-18mo-oms-neuroblastoma"
PALETTE = {to_rgba(c) for c in list(COLORS.values()) + CYCLE}


@pytest.fixture(scope="module")
def results(model):
    case = omsbayes.load_public_vignettes()[DEMO]
    age = case.age_years
    signs = {k: v for k, v in case.evidence.items() if model.role(k) == "finding" and k != "abdominal_mass"}
    tornado = model.sensitivity(signs, age=age, target="neuroblastoma")
    top = tornado.table["parameter"].iloc[0]
    return {
        "diagnosis": lambda: model.diagnose(case.evidence, age=age).plot(),
        "trajectory": lambda: model.evidence_trajectory(case.evidence, age=age).plot(),
        "evidence_impact": lambda: model.evidence_impact(signs, age=age).plot(),
        "tornado": lambda: tornado.plot(),
        "uncertainty": lambda: model.uncertainty(signs, age=age, draws=100, rng=0, progress=False).plot(),
        "value_of_information": lambda: model.value_of_information(signs, age=age).plot(),
        "what_if": lambda: model.what_if(signs, {"MIBG negative": {"mibg_scan": "negative"}}, age=age).plot(),
        "age_sweep": lambda: model.sweep_age(case.evidence).plot(),
        "parameter_sweep": lambda: plot_sweep(
            model.sweep_parameter(signs, top, age=age, points=5), xlabel=model.parameters.loc[top, "means"]
        ),
        "calibration": lambda: omsbayes.evaluate(model, omsbayes.load_public_vignettes()).plot(),
        "frequency_tree": lambda: omsbayes.natural_frequencies(model, "neuroblastoma", "oms", age=age).plot(),
    }


KINDS = [
    "diagnosis", "trajectory", "evidence_impact", "tornado", "uncertainty", "value_of_information", "what_if",
    "age_sweep", "parameter_sweep", "calibration", "frequency_tree",
]


def _texts(ax):
    legend = ax.get_legend()
    return (
        [("title", ax.title), ("xlabel", ax.xaxis.label), ("ylabel", ax.yaxis.label)]
        + [("tick", t) for t in ax.get_xticklabels() + ax.get_yticklabels()]
        + [("legend", t) for t in (legend.get_texts() if legend else [])]
        + [("text", t) for t in ax.texts]
    )


def raw_identifiers(model, text: str) -> list[str]:
    """Variable names with an underscore and parameter names found in a text (the model's identifiers)."""
    names = {v for v in model.variables if "_" in v} | set(model.parameter_names)
    tokens = [t.strip(".") for t in re.findall(r"[A-Za-z0-9_.]+", text)]
    found = [t for t in tokens if t in names]
    if text.strip() in model.variables and text.strip() not in found and text.strip() != text.strip().capitalize():
        found.append(text.strip())
    return found


@pytest.mark.parametrize("kind", KINDS)
def test_labels_are_human(model, results, kind):
    ax = results[kind]()
    for where, text in _texts(ax):
        assert raw_identifiers(model, text.get_text()) == [], (kind, where, text.get_text())


@pytest.mark.parametrize("kind", KINDS)
def test_fonts_are_readable_at_slide_size(results, kind):
    ax = results[kind]()
    for where, text in _texts(ax):
        if text.get_text():
            assert text.get_fontsize() >= MIN_FONT_SIZE, (kind, where, text.get_text(), text.get_fontsize())
    for line in ax.title.get_text().split("\n"):
        assert len(line) <= TITLE_WIDTH, (kind, line)


@pytest.mark.parametrize("kind", KINDS)
def test_colours_come_from_the_palette(results, kind):
    ax = results[kind]()
    bars = [p for p in ax.patches if isinstance(p, Rectangle)]
    for bar in bars:
        assert to_rgba(bar.get_facecolor(), 1.0) in {to_rgba(c, 1.0) for c in PALETTE}, kind
    for line in ax.lines:
        assert to_rgba(line.get_color()) in PALETTE, (kind, line.get_label())
    for _, text in _texts(ax):
        if text.get_text():
            assert to_rgba(text.get_color()) in PALETTE, (kind, text.get_text())


@pytest.mark.parametrize("kind", KINDS)
def test_new_figures_use_constrained_layout(results, kind):
    """Long tick labels are laid out, not cut off, even when saved without bbox_inches='tight'."""
    ax = results[kind]()
    assert isinstance(ax.figure.get_layout_engine(), ConstrainedLayoutEngine)


def test_value_of_information_legend_and_title_name_no_identifier(model, results):
    ax = results["value_of_information"]()
    assert ax.get_title() == "Which finding or test next?"
    legend = {t.get_text(): h.get_facecolor() for t, h in zip(ax.get_legend().get_texts(), ax.get_legend().legend_handles)}
    assert legend == {"finding": to_rgba(COLORS["posterior"]), "test": to_rgba(COLORS["accent"])}
    roles = dict(zip(ax.get_yticklabels(), ax.containers[0]))
    for label, bar in roles.items():
        expected = "test" if model.role(_variable_of(model, label.get_text())) == "test" else "finding"
        assert to_rgba(bar.get_facecolor()) == to_rgba(COLORS["accent" if expected == "test" else "posterior"])


def _variable_of(model, label):
    return next(v for v in model.variables if model.label(v) == label)


def test_parameter_sweep_names_the_parameter_by_its_description(model, results):
    ax = results["parameter_sweep"]()
    assert "incidence of" in ax.get_xlabel() or ax.get_xlabel().startswith("P(")
    assert ax.get_title() == set_title_text(f"Posterior against {ax.get_xlabel()}")
    # without the description the identifier stays (it is what the Sweep knows)
    sweep = model.sweep_parameter({"opsoclonus": "present"}, "neuroblastoma.incidence.toddler", age=2.0, points=3)
    assert sweep.plot().get_xlabel() == "neuroblastoma.incidence.toddler"


def set_title_text(text):
    fig, ax = plt.subplots()
    set_title(ax, text)
    return ax.get_title()


def _extents(ax):
    ax.figure.canvas.draw()
    return ax.get_legend().get_window_extent(), ax.get_window_extent()


@pytest.mark.parametrize("kind", ["trajectory", "age_sweep", "parameter_sweep"])
def test_sweep_legend_sits_beside_the_lines(results, kind):
    legend, axes = _extents(results[kind]())
    assert legend.x0 >= axes.x1


def test_tornado_legend_is_below_the_bars(results):
    legend, axes = _extents(results["tornado"]())
    assert legend.y1 <= axes.y0


def test_set_title_wraps_long_titles_into_even_lines():
    fig, ax = plt.subplots()
    set_title(ax, "word " * 40)
    lines = ax.get_title().split("\n")
    assert len(lines) > 1 and all(len(line) <= TITLE_WIDTH for line in lines)
    set_title(ax, "Posterior against incidence of non-paraneoplastic OMS at 1-3 y")
    first, last = ax.get_title().split("\n")
    assert len(last) > 15 and abs(len(first) - len(last)) < 15, (first, last)
    set_title(ax, "short")
    assert ax.get_title() == "short"


def test_raw_identifier_check_can_fail(model):
    assert raw_identifiers(model, "Posterior against neuroblastoma.incidence.toddler") == [
        "neuroblastoma.incidence.toddler"
    ]
    assert raw_identifiers(model, "posterior_fossa_tumor") == ["posterior_fossa_tumor"]
    assert raw_identifiers(model, "oms") == ["oms"]
    assert raw_identifiers(model, "Posterior fossa tumour") == []
    assert raw_identifiers(model, "Ataxia = present") == []
