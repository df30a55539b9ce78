"""Natural frequencies: counts equal the model's joint distribution; the frequency tree draws them."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from matplotlib.text import Annotation

import omsbayes
from omsbayes import EvidenceError
from omsbayes.cli._common import to_jsonable
from omsbayes.frequencies import format_count, natural_frequencies
from omsbayes.plotting import COLORS, plot_frequency_tree

CHILDREN = {"age": {"infant": 1, "toddler": 1, "child": 1, "adolescent": 1}}


def test_counts_are_the_joint_distribution(model):
    freq = natural_frequencies(model, "neuroblastoma", "oms", age=2.0, population=10**8)
    assert freq.population == 10**8
    assert math.isclose(freq.table["probability"].sum(), 1.0, rel_tol=1e-12)
    assert np.allclose(freq.table["count"], freq.table["probability"] * 10**8)
    p_nb = model.query(["neuroblastoma"], age=2.0)["neuroblastoma"]["present"]
    p_oms_given_nb = model.query(["oms"], {"neuroblastoma": "present"}, age=2.0)["oms"]["present"]
    p_nb_given_oms = model.query(["neuroblastoma"], {"oms": "present"}, age=2.0)["neuroblastoma"]["present"]
    assert math.isclose(freq.counts.loc["present", "present"], 1e8 * p_nb * p_oms_given_nb, rel_tol=1e-12)
    assert math.isclose(freq.given("neuroblastoma", "present")["present"], p_oms_given_nb, rel_tol=1e-9)
    # the other direction comes from the same counts: Bayes' rule
    assert math.isclose(freq.given("oms", "present")["present"], p_nb_given_oms, rel_tol=1e-9)
    assert freq.who == "toddler-years"


def test_anchor_facts_match_the_literature_targets(model):
    """P(OMS | NB) and P(NB | OMS) in children under 18, as the targets compute them."""
    # the targets are population figures: the general population, not a clinical setting
    freq = natural_frequencies(model, "neuroblastoma", "oms", evidence={**CHILDREN, "setting": "general_population"}, who="children")
    targets = omsbayes.check_targets(model)["value"]
    assert math.isclose(
        freq.given("neuroblastoma", "present")["present"], targets["oms-given-neuroblastoma-children"], rel_tol=1e-9
    )
    assert 0.4 < freq.given("oms", "present")["present"] < 0.6
    assert freq.who == "children"


def test_default_population_puts_ten_people_in_the_smallest_cell(model):
    freq = natural_frequencies(model, "neuroblastoma", "oms", age=2.0)
    smallest = freq.table.loc[freq.table["probability"] > 0, "probability"].min()
    assert math.log10(freq.population).is_integer()
    assert smallest * freq.population >= 10
    assert smallest * freq.population / 10 < 10
    # common events give a small round population (at least 100)
    assert natural_frequencies(model, "ataxia", "nystagmus", age=30).population >= 100


def test_counts_table_orientation(model):
    freq = natural_frequencies(model, "oms", "mibg_scan", age=2.0, population=1000)
    counts = freq.counts
    assert list(counts.index) == ["absent", "present"] and list(counts.columns) == ["negative", "positive"]
    assert counts.index.name == "oms" and counts.columns.name == "mibg_scan"
    assert math.isclose(counts.to_numpy().sum(), 1000, rel_tol=1e-12)


def test_report_and_json(model):
    freq = natural_frequencies(model, "neuroblastoma", "oms", age=2.0)
    assert "Natural frequencies of Neuroblastoma and Opsoclonus-myoclonus syndrome" in freq.report()
    data = json.loads(json.dumps(to_jsonable(freq.to_dict())))
    assert data["population"] == freq.population and len(data["table"]) == 4
    assert "<table" in freq._repr_html_()


def test_errors(model):
    with pytest.raises(EvidenceError, match="two different variables. Got 'oms' twice"):
        natural_frequencies(model, "oms", "oms")
    with pytest.raises(EvidenceError, match="cannot also be in the evidence"):
        natural_frequencies(model, "oms", "neuroblastoma", evidence={"oms": "present"})
    with pytest.raises(EvidenceError, match="positive whole number. Got 0.5 instead"):
        natural_frequencies(model, "oms", "neuroblastoma", population=0.5)
    with pytest.raises(EvidenceError, match="Did you mean 'neuroblastoma'"):
        natural_frequencies(model, "oms", "neuroblastma")
    freq = natural_frequencies(model, "neuroblastoma", "oms", age=2.0)
    with pytest.raises(EvidenceError, match="must be 'neuroblastoma' or 'oms'. Got 'aca' instead"):
        freq.given("aca", "present")
    with pytest.raises(EvidenceError, match="has no state 'yes'"):
        freq.given("oms", "yes")
    with pytest.raises(EvidenceError, match="split_by of plot_frequency_tree must be"):
        plot_frequency_tree(freq, split_by="aca")


def test_given_an_empty_branch_is_undefined(model):
    freq = natural_frequencies(model, "neuroblastoma", "oms", age=2.0)
    with pytest.raises(EvidenceError, match="Nobody in the population has neuroblastoma = present"):
        _empty(freq).given("neuroblastoma", "present")
    ax = _empty(freq).plot()
    assert any(t.get_text().endswith("(- of them)") for t in ax.texts)


def _empty(freq):
    """The same result with no one in the 'present' branch (to test the undefined proportion)."""
    from dataclasses import replace

    table = freq.table.copy()
    table.loc[table["first_state"] == "present", ["probability", "count"]] = 0.0
    return replace(freq, table=table)


def test_format_count():
    assert format_count(0) == "0"
    assert format_count(12.4) == "12"
    assert format_count(1234567.8) == "1,234,568"
    assert format_count(3.14159) == "3.1"
    assert format_count(0.0123) == "0.012"


@pytest.mark.parametrize("split_by", ["neuroblastoma", "oms"])
def test_frequency_tree_artists(model, split_by):
    freq = natural_frequencies(model, "neuroblastoma", "oms", evidence=CHILDREN, who="children (one year each)")
    ax = freq.plot(split_by=split_by)
    counts = freq.counts if split_by == "neuroblastoma" else freq.counts.T
    outer_label = model.label(split_by)
    inner_label = model.label("oms" if split_by == "neuroblastoma" else "neuroblastoma")
    texts = [t.get_text() for t in ax.texts]
    assert len(texts) == 1 + 2 + 4
    assert texts[0].startswith(f"{freq.population:,}\n")
    assert ax.get_title() == f"Split by {outer_label} first"
    branches = [t for t in ax.texts if isinstance(t, Annotation) and "of them" not in t.get_text()]
    leaves = [t for t in ax.texts if "of them" in t.get_text()]
    assert [b.get_text().split("\n")[0] for b in branches] == [format_count(counts.loc[s].sum()) for s in counts.index]
    expected_leaves = [
        f"{format_count(counts.loc[o, i])}  {inner_label}: {i}" for o in counts.index for i in counts.columns
    ]
    assert [t.get_text().split("  (")[0] for t in leaves] == expected_leaves
    # each leaf is joined to its branch, each branch to the root
    for k, leaf in enumerate(leaves):
        assert leaf.xy == branches[k // 2].get_position()
    for branch in branches:
        assert branch.xy == ax.texts[0].get_position()
    # the present/present leaf is highlighted and shows the conditional probability
    hot = leaves[-1]
    share = counts.iloc[1, 1] / counts.iloc[1].sum()
    assert hot.get_color() == COLORS["highlight"]
    assert f"({round(100 * share):.0f}% of them)" in hot.get_text() or f"({100 * share:.1f}% of them)" in hot.get_text()
    assert all(t.get_color() == COLORS["text"] for t in leaves[:-1])
    assert not ax.axison
