"""Value of information and evidence impact against brute-force loops over diagnose and query."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import omsbayes
from omsbayes import EvidenceError, Likelihood
from omsbayes.cli._common import to_jsonable
from omsbayes.information import binary_entropy, competitors

from .conftest import TINY_MODEL

_TINY = omsbayes.load_model(TINY_MODEL)


def _entropy(posterior) -> float:
    return sum(-p * math.log2(p) - (1 - p) * math.log2(1 - p) for p in posterior if 0 < p < 1)


def _brute_force_voi(model, evidence, age, candidate):
    """The expectation over the candidate's states, one diagnose per state."""
    base = model.diagnose(evidence, age=age).posterior
    order = base.sort_values(ascending=False, kind="stable").index
    top = order[0]
    runner = next(c for c in order[1:] if c in competitors(model, top))
    marginal = model.query([candidate], evidence, age=age)[candidate]
    out = {"expected_entropy_reduction": _entropy(base), "expected_abs_change_top": 0.0, "p_top_changes": 0.0,
           "expected_log_odds_change": 0.0, "expected_abs_log_odds_change": 0.0, "martingale": 0.0}
    for state, p in marginal.items():
        if p == 0:
            continue
        after = model.diagnose({**evidence, candidate: state}, age=age).posterior
        delta = math.log(after[top] / after[runner]) - math.log(base[top] / base[runner])
        out["expected_entropy_reduction"] -= p * _entropy(after)
        out["expected_abs_change_top"] += p * abs(after[top] - base[top])
        out["p_top_changes"] += p * (after.idxmax() != top)
        out["expected_log_odds_change"] += p * delta
        out["expected_abs_log_odds_change"] += p * abs(delta)
        out["martingale"] += p * after[top]
    return out, base[top]


def _check_voi(model, evidence, age, tol=1e-9):
    result = model.value_of_information(evidence, age=age)
    table = result.table.set_index("candidate")
    expected_candidates = [v for v in model.findings + model.tests if v not in evidence]
    assert sorted(table.index) == sorted(expected_candidates)
    for candidate in table.index:
        expected, p_top = _brute_force_voi(model, evidence, age, candidate)
        row = table.loc[candidate]
        for key in ("expected_entropy_reduction", "expected_abs_change_top", "p_top_changes",
                    "expected_log_odds_change", "expected_abs_log_odds_change"):
            assert row[key] == pytest.approx(expected[key], abs=tol, rel=1e-9), (candidate, key)
        assert row["expected_entropy_reduction"] >= -1e-12  # a sum of mutual informations
        assert expected["martingale"] == pytest.approx(p_top, abs=1e-12)
    return result


def _tiny_evidence():
    value = st.sampled_from(["absent", "present", None, 0.3, 0.9, Likelihood.ratio(3.0)])
    return st.fixed_dictionaries(
        {"opsoclonus": value, "ataxia": value, "recent_infection": value,
         "urine_catecholamines": st.sampled_from(["negative", "positive", None])}
    ).map(lambda d: {k: v for k, v in d.items() if v is not None})


@given(evidence=_tiny_evidence(), age=st.sampled_from([None, 0.5, 2.0, 30.0]))
def test_value_of_information_equals_brute_force_on_random_tiny_cases(evidence, age):
    _check_voi(_TINY, evidence, age)


def test_value_of_information_equals_brute_force_on_a_default_case(model):
    # the setting is named: the default rule would move a chronic-onset outcome to the clinic referral,
    # but a test result does not move the patient (value_of_information keeps the case's setting)
    evidence = {"opsoclonus": "present", "ataxia": "present", "myoclonus": 0.7, "setting": "paediatric_acute"}
    result = model.value_of_information(evidence, age=1.5, candidates=["body_imaging_mass", "urine_catecholamines", "onset", "fever"])
    table = result.table.set_index("candidate")
    for candidate in table.index:
        expected, _ = _brute_force_voi(model, evidence, 1.5, candidate)
        for key in ("expected_entropy_reduction", "expected_abs_change_top", "p_top_changes", "expected_log_odds_change"):
            assert table.loc[candidate, key] == pytest.approx(expected[key], abs=1e-9, rel=1e-9), (candidate, key)
    # ranked by expected entropy reduction
    assert list(result.table["rank"]) == [1, 2, 3, 4]
    assert np.all(np.diff(result.table["expected_entropy_reduction"]) <= 0)
    # the outcomes: P(state | evidence) from the model's own query
    outcomes = result.outcomes[result.outcomes["candidate"] == "onset"].set_index("state")["probability"]
    marginal = model.query(["onset"], evidence, age=1.5)["onset"]
    assert np.allclose(outcomes[marginal.index], marginal, atol=1e-12)


def test_outcome_posteriors_equal_diagnose():
    evidence = {"opsoclonus": "present"}
    result = _TINY.value_of_information(evidence, age=2.0, candidates=["urine_catecholamines"])
    for state in ("negative", "positive"):
        rows = result.posteriors[(result.posteriors["state"] == state)].set_index("condition")["posterior"]
        expected = _TINY.diagnose({**evidence, "urine_catecholamines": state}, age=2.0).posterior
        assert np.allclose(rows[expected.index], expected, atol=1e-14)


def test_binary_entropy():
    assert binary_entropy([0.0, 1.0, 0.5]).tolist() == [0.0, 0.0, 1.0]
    assert binary_entropy(0.25) == pytest.approx(-(0.25 * math.log2(0.25) + 0.75 * math.log2(0.75)))


def test_unknown_candidate_suggests_a_name():
    with pytest.raises(EvidenceError, match=r"Unknown candidate 'ataxya' for value_of_information\. Did you mean 'ataxia'\?"):
        _TINY.value_of_information({"opsoclonus": "present"}, candidates=["ataxya"])


def test_observed_candidate_is_refused():
    with pytest.raises(EvidenceError, match=r"The candidate 'opsoclonus' of value_of_information is already observed"):
        _TINY.value_of_information({"opsoclonus": 0.8}, candidates=["opsoclonus"])


def test_age_is_not_a_candidate():
    with pytest.raises(EvidenceError, match="The age is not a test"):
        _TINY.value_of_information({"opsoclonus": "present"}, candidates=["age"])


# ---------------------------------------------------------------------------
# evidence impact
# ---------------------------------------------------------------------------
def _likelihood_of_item(model, evidence, age, item, given_condition):
    """P(observation of item | condition present, the rest of the evidence), by query."""
    rest = {k: v for k, v in evidence.items() if k != item}
    marginal = model.query([item], {**rest, given_condition: "present"}, age=age)[item]
    ev = model.normalize({item: evidence[item]})
    lam = ev.likelihoods(model.state_map)[item]
    return float(np.dot(lam, marginal[list(model.states(item))]))


def test_evidence_impact_against_diagnose_and_query():
    evidence = {"opsoclonus": "present", "ataxia": 0.8, "urine_catecholamines": "negative", "onset": "subacute"}
    result = _TINY.evidence_impact(evidence, age=2.0)
    full = _TINY.diagnose(evidence, age=2.0).posterior
    order = full.sort_values(ascending=False, kind="stable").index
    assert result.top == order[0]
    assert result.runner_up == next(c for c in order[1:] if c in competitors(_TINY, result.top))
    table = result.table.set_index(["item", "condition"])
    summary = result.summary.set_index("item")
    assert set(summary.index) == {"age", *evidence}
    for item in evidence:
        rest = {k: v for k, v in evidence.items() if k != item}
        without = _TINY.diagnose(rest, age=2.0).posterior
        for cond in full.index:
            assert table.loc[(item, cond), "with"] == pytest.approx(full[cond], abs=1e-14)
            assert table.loc[(item, cond), "without"] == pytest.approx(without[cond], abs=1e-14)
        # the likelihood ratio for top versus runner-up, from two independent queries
        lr = _likelihood_of_item(_TINY, evidence, 2.0, item, result.top) / _likelihood_of_item(
            _TINY, evidence, 2.0, item, result.runner_up
        )
        assert summary.loc[item, "lr"] == pytest.approx(lr, rel=1e-9)
    # flipped: the other state of a two-state variable, the reversed likelihoods of soft evidence
    flipped_hard = _TINY.diagnose({**evidence, "opsoclonus": "absent"}, age=2.0).posterior
    flipped_soft = _TINY.diagnose({**evidence, "ataxia": 0.2}, age=2.0).posterior
    for cond in full.index:
        assert table.loc[("opsoclonus", cond), "flipped"] == pytest.approx(flipped_hard[cond], abs=1e-14)
        assert table.loc[("ataxia", cond), "flipped"] == pytest.approx(flipped_soft[cond], abs=1e-14)
    assert table.loc[("onset", "oms"), "flipped"] != table.loc[("onset", "oms"), "flipped"]  # NaN: three states
    # without the age: the age unknown
    no_age = _TINY.diagnose(evidence).posterior
    assert table.loc[("age", "oms"), "without"] == pytest.approx(no_age["oms"], abs=1e-14)
    assert list(result.summary["log10_lr"].abs()) == sorted(result.summary["log10_lr"].abs(), reverse=True)


def test_evidence_impact_needs_evidence():
    with pytest.raises(EvidenceError, match="evidence_impact needs at least one observed item"):
        _TINY.evidence_impact({})


# ---------------------------------------------------------------------------
# result objects and plots
# ---------------------------------------------------------------------------
def test_voi_bar_plot_and_json():
    result = _TINY.value_of_information({"opsoclonus": "present"}, age=2.0)
    ax = result.plot(top=3)
    shown = result.table.head(3).iloc[::-1]
    bars = ax.containers[0]
    assert np.allclose([b.get_width() for b in bars], shown["expected_entropy_reduction"])
    assert [t.get_text() for t in ax.get_yticklabels()] == list(shown["label"])
    ax2 = result.plot(measure="p_top_changes")
    assert "changes the top diagnosis" in ax2.get_xlabel()
    with pytest.raises(EvidenceError, match=r"The measure of plot_value_of_information must be one of"):
        result.plot(measure="entropy")
    data = json.loads(json.dumps(to_jsonable(result.to_dict())))
    assert data["table"][0]["candidate"] == result.table["candidate"].iloc[0] and data["outcomes"]
    assert "Value of information" in result._repr_html_()


def test_evidence_impact_waterfall_bars():
    evidence = {"opsoclonus": "present", "ataxia": "present", "urine_catecholamines": "negative"}
    result = _TINY.evidence_impact(evidence, age=2.0)
    ax = result.plot()
    bars = ax.containers[0]
    shown = result.summary.iloc[::-1]
    assert np.allclose([b.get_x() for b in bars], shown["p_top_without"])
    assert np.allclose([b.get_x() + b.get_width() for b in bars], shown["p_top_with"])
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[-1] == f"{shown['item_label'].iloc[-1]} = {shown['observed'].iloc[-1]}"
    assert any(t.get_text().strip().startswith("LR ") for t in ax.texts)
    data = json.loads(json.dumps(to_jsonable(result.to_dict())))
    assert data["top"] == result.top and len(data["summary"]) == 4


# ---------------------------------------------------------------------------
# competitors: a condition is not compared with its own causes or consequences
# ---------------------------------------------------------------------------
def _ancestors(model, name):
    out, stack = set(), list(model.parents(name))
    while stack:
        v = stack.pop()
        if v not in out:
            out.add(v)
            stack.extend(model.parents(v))
    return out


@pytest.mark.parametrize("which", ["tiny", "default"])
def test_competitors_are_neither_ancestors_nor_descendants(which, tiny, model):
    m = tiny if which == "tiny" else model
    for c in m.conditions:
        rivals = set(competitors(m, c))
        for other in m.conditions:
            if other == c:
                assert other not in rivals
                continue
            related = other in _ancestors(m, c) or c in _ancestors(m, other)
            assert (other in rivals) == (not related), (c, other)
    assert competitors(tiny, "oms") == ["aca"] and competitors(tiny, "neuroblastoma") == ["aca"]
    with pytest.raises(EvidenceError, match="'opsoclonus' is not a condition of the model"):
        competitors(tiny, "opsoclonus")


def test_neuroblastoma_is_not_the_runner_up_of_oms(tiny):
    # neuroblastoma ranks second here, but it causes OMS: the comparison is OMS versus ACA
    evidence = {"opsoclonus": "present", "urine_catecholamines": "positive"}
    order = tiny.diagnose(evidence, age=1.5).posterior.sort_values(ascending=False).index.tolist()
    assert order[:2] == ["oms", "neuroblastoma"]
    impact = tiny.evidence_impact(evidence, age=1.5)
    voi = tiny.value_of_information(evidence, age=1.5)
    assert impact.runner_up == voi.runner_up == "aca"
    assert "versus ACA" in impact.title
    # opsoclonus, which OMS causes and neuroblastoma causes only through OMS, now has a real LR:
    # P(opsoclonus | OMS, rest) / P(opsoclonus | ACA, rest) from two independent queries
    lr = impact.summary.set_index("item").loc["opsoclonus", "lr"]
    expected = _likelihood_of_item(tiny, evidence, 1.5, "opsoclonus", "oms") / _likelihood_of_item(
        tiny, evidence, 1.5, "opsoclonus", "aca"
    )
    assert lr == pytest.approx(expected, rel=1e-9) and lr > 10
