"""One-way sensitivity: exact functions, derivatives and rank flips, checked by re-inference.

Oracles: the posterior of ``model.with_parameters({name: t})`` re-inferred from
scratch (its tables rebuilt), central finite differences, and the top
diagnosis re-inferred on either side of every reported rank-flip point.
"""

from __future__ import annotations

import re

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import omsbayes
from omsbayes.plotting.sensitivity import VISIBLE_FRACTION
from omsbayes.plotting.sensitivity import _labels as _tornado_labels
from omsbayes.sensitivity import readable_descriptions
from omsbayes import EvidenceError, Likelihood
from omsbayes.cli._common import to_jsonable
from omsbayes.information import competitors
from omsbayes.provenance import provenance_of
from omsbayes.sensitivity import NOTE_BARREN, NOTE_FORMULA, parameter_slopes

from .conftest import TINY_MODEL

_TINY = omsbayes.load_model(TINY_MODEL)
TINY_CASE = {"opsoclonus": "present", "ataxia": 0.8, "onset": "subacute"}
REQUIRED = ["parameter", "value", "a", "b", "c", "d", "derivative", "low", "high", "posterior_low", "posterior_high", "rank_flip"]


def _posterior(model, evidence, age, target):
    return model.query([target], evidence, age=age)[target].iloc[-1]


def _interior(row, n=5):
    """``n`` values strictly inside the parameter's valid range (P(e) > 0 there)."""
    lo, hi = row["domain_low"], row["domain_high"]
    return lo + (hi - lo) * np.array([0.03, 0.25, 0.5, 0.75, 0.97])[:n]


def _check_function(model, result, row, evidence, age, tol=1e-9):
    for t in _interior(row):
        expected = _posterior(model.with_parameters({row["parameter"]: float(t)}), evidence, age, result.target)
        got = (row["a"] * t + row["b"]) / (row["c"] * t + row["d"])
        assert got == pytest.approx(expected, abs=tol), (row["parameter"], t)
        assert result.posterior_at(row["parameter"], t) == pytest.approx(got, rel=1e-14, abs=1e-300)


# ---------------------------------------------------------------------------
# exactness on the tiny model: every parameter, then random models and evidence
# ---------------------------------------------------------------------------
def test_every_tiny_parameter_reproduces_reinference_at_five_values():
    result = _TINY.sensitivity(TINY_CASE, age=2.0, target="oms")
    assert set(REQUIRED) <= set(result.table.columns)
    assert len(result.table) == len(_TINY.parameter_names)
    assert result.posterior == pytest.approx(_TINY.diagnose(TINY_CASE, age=2.0).posterior["oms"], abs=1e-14)
    for _, row in result.table.iterrows():
        if pd.isna(row["table"]):  # a formula input alone is refused by with_parameters (issue 10 item 3)
            assert row["a"] == 0 and row["c"] == 0
            continue
        _check_function(_TINY, result, row, TINY_CASE, 2.0)


def _tiny_evidence():
    value = st.sampled_from(["absent", "present", None, 0.3, 0.9, Likelihood.ratio(4.0), Likelihood.ratio(0.2)])
    test_value = st.sampled_from(["negative", "positive", None, 0.6])
    onset = st.sampled_from(["acute", "subacute", "chronic", None, {"acute": 1.0, "subacute": 0.5, "chronic": 0.1}])
    return st.fixed_dictionaries(
        {
            "opsoclonus": value,
            "ataxia": value,
            "recent_infection": value,
            "urine_catecholamines": test_value,
            "onset": onset,
        }
    ).map(lambda d: {k: v for k, v in d.items() if v is not None})


# parameters that are probabilities in the recipes (safe to set anywhere in (0, 1))
_RANDOMISED = ["oms.opsoclonus", "aca.opsoclonus", "oms.ataxia", "aca.ataxia", "nb.urine.with_oms", "oms.p_infection", "infection.paediatric"]


@given(
    evidence=_tiny_evidence(),
    age=st.sampled_from([None, 0.5, 2.0, 8.0, 30.0]),
    target=st.sampled_from(["oms", "neuroblastoma", "aca"]),
    values=st.lists(st.floats(0.05, 0.95), min_size=len(_RANDOMISED), max_size=len(_RANDOMISED)),
    which=st.integers(0, 10_000),
)
def test_random_models_and_evidence_reproduce_reinference(evidence, age, target, values, which):
    model = _TINY.with_parameters(dict(zip(_RANDOMISED, values)))
    result = model.sensitivity(evidence, age=age, target=target)
    assert result.posterior == pytest.approx(_posterior(model, evidence, age, target), abs=1e-12)
    live = result.table[result.table["table"].notna()].reset_index(drop=True)
    row = live.iloc[which % len(live)]
    _check_function(model, result, row, evidence, age)
    # the derivative is the slope of re-inference (central differences)
    t0 = row["value"]
    h = 1e-6 * max(t0, 1e-3)
    if row["domain_low"] < t0 - h and t0 + h < row["domain_high"]:
        up = _posterior(model.with_parameters({row["parameter"]: t0 + h}), evidence, age, target)
        down = _posterior(model.with_parameters({row["parameter"]: t0 - h}), evidence, age, target)
        assert row["derivative"] == pytest.approx((up - down) / (2 * h), rel=1e-4, abs=1e-14 / h)


def test_derivatives_equal_finite_differences_for_every_tiny_parameter():
    result = _TINY.sensitivity(TINY_CASE, age=2.0, target="oms")
    # formula inputs alone cannot be re-inferred (with_parameters refuses them; their zero
    # derivative is checked in test_formula_only_parameters_are_reported_with_zero_derivative)
    for _, row in result.table[result.table["table"].notna()].iterrows():
        t0 = row["value"]
        h = 1e-6 * max(t0, 1e-4)
        up = _posterior(_TINY.with_parameters({row["parameter"]: t0 + h}), TINY_CASE, 2.0, "oms")
        down = _posterior(_TINY.with_parameters({row["parameter"]: t0 - h}), TINY_CASE, 2.0, "oms")
        # rounding of the two posteriors (~1e-16) divided by 2h bounds the absolute error
        assert row["derivative"] == pytest.approx((up - down) / (2 * h), rel=1e-5, abs=1e-14 / h), row["parameter"]
        # and the derivative is that of the function itself: a d - b c
        assert row["derivative"] == pytest.approx(row["a"] * row["d"] - row["b"] * row["c"], rel=1e-12, abs=1e-15)


# ---------------------------------------------------------------------------
# rank flips
# ---------------------------------------------------------------------------
def _leader(model, evidence, age, top):
    """The most probable of ``top`` and its competitors (its causes and consequences cannot flip it)."""
    posterior = model.diagnose(evidence, age=age).posterior
    return max([top, *competitors(model, top)], key=lambda name: posterior[name])


def _check_flip(model, result, row, evidence, age):
    t0, t_star = row["value"], row["rank_flip"]
    direction = np.sign(t_star - t0)
    edge = row["domain_high"] if direction > 0 else row["domain_low"]
    step = min(1e-4 * abs(t_star - t0), abs(edge - t_star) / 2)
    before = _leader(model.with_parameters({row["parameter"]: t_star - direction * step}), evidence, age, result.top)
    after = _leader(model.with_parameters({row["parameter"]: t_star + direction * step}), evidence, age, result.top)
    assert before == result.top, row["parameter"]
    assert after == row["rank_flip_to"] != result.top, row["parameter"]


def test_tiny_rank_flips_verified_by_reinference_either_side():
    result = _TINY.sensitivity(TINY_CASE, age=2.0, target="oms")
    flips = result.table[result.table["rank_flip"].notna()]
    assert len(flips) >= 5
    for _, row in flips.iterrows():
        _check_flip(_TINY, result, row, TINY_CASE, 2.0)
        # nothing changes the top between the current value and the flip point
        for t in np.linspace(row["value"], row["rank_flip"], 7)[1:-1]:
            assert _leader(_TINY.with_parameters({row["parameter"]: float(t)}), TINY_CASE, 2.0, result.top) == result.top
    # no flip reported: the top holds across the whole search range
    for _, row in result.table[result.table["rank_flip"].isna() & result.table["table"].notna()].iterrows():
        for t in _interior(row):
            assert _leader(_TINY.with_parameters({row["parameter"]: float(t)}), TINY_CASE, 2.0, result.top) == result.top, row["parameter"]


def test_flip_is_never_where_the_evidence_becomes_impossible():
    # the age is observed: P(age) parameters cancel; they must report no flip although
    # every posterior is 0/0 at the end of their range
    result = _TINY.sensitivity({"opsoclonus": "present"}, age=2.0)
    ages = result.table[result.table["parameter"].str.startswith("population.age")]
    assert ages["rank_flip"].isna().all()
    assert np.allclose(ages["derivative"], 0.0, atol=1e-12)


# ---------------------------------------------------------------------------
# default model: a few public cases
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("case_id", ["pub-nejm-1995-29mo-oms", "pub-adult-mycoplasma-oms-19m"])
def test_default_model_functions_and_flips(model, vignettes, case_id):
    case = vignettes[case_id]
    result = model.sensitivity(case.evidence, age=case.age_years, target="oms")
    assert result.posterior == pytest.approx(model.diagnose(case.evidence, age=case.age_years).posterior["oms"], abs=1e-14)
    rng = np.random.default_rng(4)
    live = result.table[result.table["table"].notna()]
    chosen = live.head(4).index.tolist() + rng.choice(live.index[4:], size=6, replace=False).tolist()
    for i in chosen:
        _check_function(model, result, live.loc[i], case.evidence, case.age_years)
    flips = result.table[result.table["rank_flip"].notna()]
    assert len(flips) > 0
    for _, row in flips.head(3).iterrows():
        _check_flip(model, result, row, case.evidence, case.age_years)
    # sorted by swing
    swing = result.table["swing"].to_numpy()
    assert np.all(np.diff(swing) <= 1e-15)
    assert np.allclose(swing, np.abs(result.table["posterior_high"] - result.table["posterior_low"]))


def test_a_cause_of_the_top_condition_is_not_a_rank_flip(model, vignettes):
    # issue 11: OMS with a neuroblastoma found; neuroblastoma can overtake OMS (both are present)
    # but that changes no diagnosis, so only competitors of OMS may flip it
    case = vignettes["pub-board-18mo-oms-neuroblastoma"]
    result = model.sensitivity(case.evidence, age=case.age_years, target="oms")
    assert result.top == "oms"
    flips = result.table[result.table["rank_flip"].notna()]
    assert len(flips) > 0
    assert set(flips["rank_flip_to"]) <= set(competitors(model, "oms"))
    # a parameter at which neuroblastoma overtakes OMS (where the old rule reported a flip):
    # re-inference shows neuroblastoma first there, and OMS still ahead of every competitor
    f = result.functions.set_index(["parameter", "condition"])
    crossings = []
    for _, row in result.table[result.table["table"].notna()].iterrows():
        (a_o, b_o), (a_n, b_n) = (f.loc[(row["parameter"], c), ["a", "b"]] for c in ("oms", "neuroblastoma"))
        if a_o != a_n:
            t = -(b_o - b_n) / (a_o - a_n)
            if row["domain_low"] < t < row["domain_high"] and abs(t - row["value"]) > 1e-9:
                crossings.append((abs(t - row["value"]), t, row))
    assert crossings, "no parameter moves neuroblastoma past OMS"
    _, t, row = min(crossings, key=lambda item: item[0])
    beyond = t + 1e-3 * (t - row["value"])
    if np.isnan(row["rank_flip"]) or abs(beyond - row["value"]) < abs(row["rank_flip"] - row["value"]):
        changed = model.with_parameters({row["parameter"]: float(beyond)})
        assert changed.diagnose(case.evidence, age=case.age_years).top == "neuroblastoma"
        assert _leader(changed, case.evidence, case.age_years, "oms") == "oms"
    for _, flip in flips.head(3).iterrows():
        _check_flip(model, result, flip, case.evidence, case.age_years)


def test_formula_only_parameters_are_reported_with_zero_derivative(model):
    evidence = {"opsoclonus": "present", "ataxia": "present"}
    result = model.sensitivity(evidence, age=1.5)
    formula_only = result.table[result.table["table"].isna()]
    expected = set(model.parameters.index[model.parameters["table"].isna()])
    assert set(formula_only["parameter"]) == expected and "oms.nb_fraction" in expected
    assert (formula_only["derivative"] == 0).all() and formula_only["rank_flip"].isna().all()
    assert formula_only["note"].str.startswith(NOTE_FORMULA).all()
    # and indeed: changing one alone would change nothing (derived parameters are frozen), so
    # with_parameters refuses it (issue 10 item 3)
    with pytest.raises(EvidenceError, match=r"Parameter 'oms.nb_fraction' feeds no table"):
        model.with_parameters({"oms.nb_fraction": 0.2})
    # derived parameters are parameters like any other: they feed a table
    derived = result.table[result.table["parameter"] == "oms.non_tumour_rate.toddler"].iloc[0]
    assert derived["table"] == "oms" and derived["derivative"] != 0 and "derived" in derived["note"]


def test_barren_tables_have_zero_derivative_and_a_note():
    result = _TINY.sensitivity({"opsoclonus": "present"}, age=2.0)
    urine = result.table[result.table["table"] == "urine_catecholamines"]
    assert len(urine) == 3
    assert (urine["derivative"] == 0).all() and (urine["note"] == NOTE_BARREN).all()
    row = urine.iloc[0]
    moved = _posterior(_TINY.with_parameters({row["parameter"]: 0.9}), {"opsoclonus": "present"}, 2.0, "oms")
    assert moved == pytest.approx(result.posterior, abs=1e-15)


def test_group_members_covary_proportionally():
    result = _TINY.sensitivity(TINY_CASE, age=2.0)
    row = result.table.set_index("parameter").loc["oms.onset.acute"]
    assert row["group"] == "oms.onset" and "proportional" in row["covariation"]
    assert pd.isna(result.table.set_index("parameter").loc["oms.opsoclonus", "covariation"])
    # the slopes rescale the siblings: every table column still sums to one along the move
    ts = parameter_slopes(_TINY, "onset")
    j = ts.names.index("oms.onset.acute")
    shape = _TINY.tables["onset"].shape
    assert np.allclose(ts.slopes[j].reshape(shape).sum(axis=0), 0.0, atol=1e-14)


def test_soft_evidence_on_the_target_itself():
    evidence = {"opsoclonus": "present", "oms": 0.7}
    result = _TINY.sensitivity(evidence, age=2.0, target="oms")
    assert result.posterior == pytest.approx(_TINY.diagnose(evidence, age=2.0).posterior["oms"], abs=1e-14)
    row = result.table.set_index("parameter").loc["oms.opsoclonus"]
    t = 0.6
    expected = _TINY.with_parameters({"oms.opsoclonus": t}).diagnose(evidence, age=2.0).posterior["oms"]
    assert (row["a"] * t + row["b"]) / (row["c"] * t + row["d"]) == pytest.approx(expected, abs=1e-12)


def test_target_may_be_a_test_result():
    evidence = {"opsoclonus": "present"}
    result = _TINY.sensitivity(evidence, age=2.0, target="urine_catecholamines")
    expected = _TINY.query(["urine_catecholamines"], evidence, age=2.0)["urine_catecholamines"]["positive"]
    assert result.posterior == pytest.approx(expected, abs=1e-14)
    row = result.table.set_index("parameter").loc["nb.urine.with_oms"]
    moved = _posterior(_TINY.with_parameters({"nb.urine.with_oms": 0.9}), evidence, 2.0, "urine_catecholamines")
    assert (row["a"] * 0.9 + row["b"]) / (row["c"] * 0.9 + row["d"]) == pytest.approx(moved, abs=1e-12)


# ---------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------
def test_unknown_target_suggests_a_name():
    with pytest.raises(EvidenceError, match=r"The target 'omz' of sensitivity is not a variable of the model\. Did you mean 'oms'\?"):
        _TINY.sensitivity({"opsoclonus": "present"}, target="omz")


def test_observed_target_is_refused():
    with pytest.raises(EvidenceError, match=r"The target 'oms' of sensitivity is already observed \(oms=present\)"):
        _TINY.sensitivity({"oms": "present"}, target="oms")


def test_multi_state_target_is_refused():
    with pytest.raises(EvidenceError, match=r"must be a two-state variable.*'onset' has states"):
        _TINY.sensitivity({"opsoclonus": "present"}, target="onset")


def test_impossible_evidence_is_named():
    no_leak = _TINY.with_parameters({"opsoclonus.leak": 0.0})
    with pytest.raises(EvidenceError, match="probability zero: .*oms=absent.*aca=absent.*opsoclonus=present"):
        no_leak.sensitivity({"oms": "absent", "aca": "absent", "opsoclonus": "present"}, target="neuroblastoma", age=2.0)


def test_unknown_parameter_in_posterior_at():
    result = _TINY.sensitivity({"opsoclonus": "present"})
    with pytest.raises(EvidenceError, match=r"No sensitivity function for parameter 'oms.opsoclonu'.*Did you mean 'oms.opsoclonus'\?"):
        result.posterior_at("oms.opsoclonu", 0.5)


# ---------------------------------------------------------------------------
# the result object and the tornado plot
# ---------------------------------------------------------------------------
def test_result_object_json_html_provenance():
    result = _TINY.sensitivity(TINY_CASE, age=2.0)
    data = json.loads(json.dumps(to_jsonable(result.to_dict())))
    assert data["analysis"] == "Sensitivity" and data["target"] == "oms"
    assert len(data["table"]) == len(_TINY.parameter_names)
    assert data["table"][0]["parameter"] == result.table["parameter"].iloc[0]
    assert result.provenance == provenance_of(_TINY)
    html = result._repr_html_()
    assert "Sensitivity of P(OMS | evidence)" in html and result.table["parameter"].iloc[0] in html
    assert "not a medical device" in result.report(rows=3)


def test_tornado_bars_are_the_posteriors_at_both_ends():
    result = _TINY.sensitivity(TINY_CASE, age=2.0)
    ax = result.plot(top=6)
    low, high = ax.containers
    head = result.table.head(6)
    shown = head[head["swing"] > VISIBLE_FRACTION * head["swing"].max()].iloc[::-1]
    p0 = result.posterior
    assert low.get_label() == "parameter at its low end" and high.get_label() == "parameter at its high end"
    assert np.allclose([b.get_x() for b in low], p0)
    assert np.allclose([b.get_width() for b in low], shown["posterior_low"] - p0)
    assert np.allclose([b.get_x() + b.get_width() for b in high], shown["posterior_high"])
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert all(label.startswith(readable) for label, readable in zip(labels, shown["label"]))
    # two parameters with one description are told apart by name
    both = _TINY.sensitivity({"opsoclonus": "present"})  # age unknown: both NB rates matter
    rates = both.table[both.table["means"] == "NB rate"]
    labels = set(_tornado_labels(rates))
    assert labels == {f"NB rate ({p})" for p in rates["parameter"]} and len(labels) == 2
    assert "OMS" in both.plot().get_xlabel()


def test_tornado_labels_sit_inside_the_axes_off_the_ticks():
    # issue 11: "0.0216" written across the spine read as "-0.0216"
    result = _TINY.sensitivity(TINY_CASE, age=2.0)
    ax = result.plot(top=8)
    fig = ax.figure
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    values = [t for t in ax.texts if t.get_text().strip()]
    assert len(values) == 2 * len(ax.containers[0])
    ticks = [t.get_window_extent(renderer) for t in ax.get_yticklabels()]
    for t in values:
        box = t.get_window_extent(renderer)
        assert frame.x0 <= box.x0 and box.x1 <= frame.x1, t.get_text()
        assert not any(box.overlaps(tick) for tick in ticks), t.get_text()
        assert not t.get_text().strip().startswith("-")
    assert all(tick.tick1line.get_markersize() == 0 for tick in ax.yaxis.get_major_ticks())


def test_tornado_drops_rows_without_visible_bars_and_says_so():
    result = _TINY.sensitivity({"opsoclonus": "present"}, age=2.0)
    head = result.table.head(15)
    visible = head["swing"] > VISIBLE_FRACTION * head["swing"].max()
    assert 0 < visible.sum() < len(head)  # the case has both kinds
    ax = result.plot(top=15)
    assert len(ax.containers[0]) == visible.sum()
    widths = np.abs([b.get_width() for b in ax.containers[0]] + [b.get_width() for b in ax.containers[1]])
    assert widths.reshape(2, -1).max(axis=0).min() > 0
    note = ax.get_legend().get_title().get_text()
    assert f"Not drawn: the other {len(head) - visible.sum()} of the top 15" in note


def test_tornado_labels_are_readable_not_ids(tiny):
    result = tiny.sensitivity(TINY_CASE, age=2.0)
    labels = [t.get_text() for t in result.plot(top=40).get_yticklabels()]
    assert "P(opso | OMS)" in labels and "P(opso | ACA)" in labels
    assert not any(re.search(r"\b(oms|aca)\b", label.split(" (")[0]) for label in labels), labels
    assert list(result.table["label"]) == readable_descriptions(tiny, result.table["means"])
    assert readable_descriptions(tiny, ["P(oms | neuroblastoma)", "P(recent_infection | age)", "omsx"]) == [
        "P(OMS | neuroblastoma)", "P(recent infection | age)", "omsx"
    ]


def test_plot_draws_on_a_given_axes():
    import matplotlib.pyplot as plt

    _, ax = plt.subplots()
    assert _TINY.sensitivity(TINY_CASE, age=2.0).plot(ax=ax, top=3) is ax
    assert len(ax.containers[0]) == 3


# ---------------------------------------------------------------------------
# display: capped by default like the command line (issue 11)
# ---------------------------------------------------------------------------
def test_print_and_notebook_display_are_capped_with_a_way_to_see_all():
    from omsbayes.sensitivity import DISPLAY_ROWS

    result = _TINY.sensitivity(TINY_CASE, age=2.0, target="oms")
    total = len(result.table)
    assert total > DISPLAY_ROWS
    listed = {line.split()[0] for line in str(result).splitlines() if line.strip()}
    shown = [name for name in result.table["parameter"] if name in listed]
    assert shown == list(result.table["parameter"].head(DISPLAY_ROWS))
    assert f"the {DISPLAY_ROWS} of {total} parameters with the largest swing" in str(result)
    everything = result.report(rows=None)
    assert all(name in everything for name in result.table["parameter"]) and "largest swing;" not in everything
    html = result._repr_html_()
    assert html.count("<tr>") == DISPLAY_ROWS and f"the {DISPLAY_ROWS} of {total} parameters with the largest swing" in html
    assert result.html(rows=None).count("<tr>") == total
    assert result.html(rows=3).count("<tr>") == 3
