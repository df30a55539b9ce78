"""model.diagnose: results, ages, soft evidence, criteria, the must-not-miss note and every error."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import omsbayes
from omsbayes import EvidenceError, Likelihood

BOARD = "pub-board-18mo-oms-neuroblastoma"


def test_posterior_covers_every_vocabulary_condition(model):
    dx = model.diagnose({"opsoclonus": "present", "ataxia": "present"}, age=1.5)
    assert list(dx.posterior.index) == model.conditions
    assert isinstance(dx.posterior, pd.Series)
    assert dx.posterior.between(0, 1).all()
    assert dx.top == "oms"


def test_table_columns_and_ranks(model):
    dx = model.diagnose({"opsoclonus": "present", "ataxia": "present"}, age=1.5)
    table = dx.table
    assert list(table.columns) == ["label", "prior", "posterior", "ratio", "rank"]
    assert list(table["rank"]) == list(range(1, len(model.conditions) + 1))
    assert table["posterior"].is_monotonic_decreasing
    np.testing.assert_allclose(table["ratio"], table["posterior"] / table["prior"])
    assert table.loc["oms", "label"] == "Opsoclonus-myoclonus syndrome"


def test_prior_is_age_only(model):
    dx = model.diagnose({"opsoclonus": "present"}, age=1.5)
    prior = model.query(model.conditions, {}, age=1.5)  # the same (default) setting, no findings
    for c in model.conditions:
        assert dx.prior[c] == pytest.approx(prior[c]["present"], rel=1e-12)
    population = model.diagnose({"opsoclonus": "present"}, age=1.5, setting="general_population")
    assert population.prior["neuroblastoma"] == pytest.approx(model.values["neuroblastoma.incidence.toddler"], rel=1e-12)


def test_board_case_reaches_the_published_diagnosis(model, vignettes):
    case = vignettes[BOARD]
    dx = model.diagnose(case.evidence, age=case.age_years)
    assert dx.posterior["oms"] >= 0.9
    assert dx.posterior["neuroblastoma"] >= 0.8
    assert dx.criteria.met == 3 and dx.criteria.status == "met"


def test_age_maps_to_bins_with_lower_bounds_inclusive(model):
    assert model.normalize({}, 0.99).age_bin == "infant"
    assert model.normalize({}, 1.0).age_bin == "toddler"
    assert model.normalize({}, 3.999).age_bin == "toddler"
    assert model.normalize({}, 4.0).age_bin == "child"
    assert model.normalize({}, 17.9).age_bin == "adolescent"
    assert model.normalize({}, 18).age_bin == "adult"
    assert model.normalize({}, 50).age_bin == "older_adult"
    assert model.normalize({}, 120).age_bin == "older_adult"


def test_unknown_age_uses_the_population(model):
    dx = model.diagnose({"ataxia": "present"}, setting="general_population")
    weights = np.array([model.values[f"population.age.{a}"] for a in model.age_states])
    expected_prior = sum(
        w * model.query(["oms"], {}, age=age, setting="general_population")["oms"]["present"]
        for w, age in zip(weights, (0.5, 2, 6, 14, 30, 60))
    )
    assert dx.prior["oms"] == pytest.approx(expected_prior, rel=1e-9)
    assert dx.evidence.age_bin is None


def test_condition_as_evidence(model):
    dx = model.diagnose({"neuroblastoma": "present"}, age=2, setting="general_population")
    assert dx.posterior["neuroblastoma"] == 1.0
    assert dx.posterior["oms"] == pytest.approx(model.values["oms.p_given_neuroblastoma.toddler"], rel=0.05)


def test_half_sure_observation_changes_nothing(model):
    base = model.diagnose({"ataxia": "present"}, age=2).posterior
    half = model.diagnose({"ataxia": "present", "opsoclonus": 0.5}, age=2).posterior
    pd.testing.assert_series_equal(base, half, rtol=1e-12)


def test_certain_soft_observation_equals_hard_evidence(model):
    hard = model.diagnose({"opsoclonus": "present"}, age=2).posterior
    soft = model.diagnose({"opsoclonus": 1.0}, age=2).posterior
    pd.testing.assert_series_equal(hard, soft, rtol=1e-12)


def test_soft_probability_is_a_likelihood_ratio(model):
    """0.7 means likelihoods (0.3, 0.7): the same as a likelihood ratio of 7/3."""
    by_probability = model.diagnose({"opsoclonus": 0.7}, age=2).posterior
    by_ratio = model.diagnose({"opsoclonus": Likelihood.ratio(7 / 3)}, age=2).posterior
    by_weights = model.diagnose({"opsoclonus": {"absent": 3, "present": 7}}, age=2).posterior
    pd.testing.assert_series_equal(by_probability, by_ratio, rtol=1e-12)
    pd.testing.assert_series_equal(by_probability, by_weights, rtol=1e-12)
    hard = model.diagnose({"opsoclonus": "present"}, age=2).posterior["oms"]
    none = model.diagnose({}, age=2).posterior["oms"]
    assert none < by_probability["oms"] < hard


def test_soft_evidence_on_a_condition_is_queryable(model):
    dx = model.diagnose({"neuroblastoma": 0.9, "opsoclonus": "present"}, age=2)
    assert 0 < dx.posterior["neuroblastoma"] < 1


def test_negative_findings_lower_their_causes(model):
    base = model.diagnose({"ataxia": "present", "opsoclonus": "present"}, age=2).posterior["neuroblastoma"]
    after = model.diagnose(
        {"ataxia": "present", "opsoclonus": "present", "body_imaging_mass": "negative", "mibg_scan": "negative"}, age=2
    ).posterior["neuroblastoma"]
    assert after < base / 5


def test_consensus_criteria_states():
    from omsbayes.diagnosis import consensus_criteria

    model = omsbayes.load_model()
    ev = model.normalize({"opsoclonus": "present", "ataxia": "present", "irritability": "present"}, 2)
    c = consensus_criteria(ev)
    assert (c.opsoclonus, c.myoclonus_or_ataxia, c.behaviour_or_sleep, c.neuroblastoma) == (True, True, True, None)
    assert c.met == 3 and c.status == "met" and c.applies
    ev = model.normalize({"opsoclonus": "absent", "myoclonus": "absent", "ataxia": "absent"}, 2)
    c = consensus_criteria(ev)
    assert c.met == 0 and c.status == "cannot be met"
    ev = model.normalize({"opsoclonus": "present", "mibg_scan": "positive"}, 30)
    c = consensus_criteria(ev)
    assert c.neuroblastoma is True and not c.applies
    assert "paediatric criteria" in c.summary()


def test_must_not_miss_note_for_a_child_with_probable_oms(model):
    dx = model.diagnose({"opsoclonus": "present", "ataxia": "present", "myoclonus": "present"}, age=2)
    note = dx.must_not_miss
    assert note is not None
    assert note.p_neuroblastoma == pytest.approx(dx.posterior["neuroblastoma"])
    assert list(note.tests["test"]) == ["body_imaging_mass", "mibg_scan", "urine_catecholamines"]
    # each residual probability is the model's answer with that test negative
    for row in note.tests.itertuples():
        negative = model.diagnose(
            {"opsoclonus": "present", "ataxia": "present", "myoclonus": "present", row.test: "negative"}, age=2
        )
        assert row.p_neuroblastoma_if_negative == pytest.approx(negative.posterior["neuroblastoma"], rel=1e-12)
    assert "MUST NOT MISS" in note.text and "CT/MRI" in note.text


def test_no_must_not_miss_note_for_adults_or_unlikely_oms(model):
    assert model.diagnose({"opsoclonus": "present", "ataxia": "present"}, age=40).must_not_miss is None
    assert model.diagnose({"ataxia": "present"}, age=2).must_not_miss is None


def test_plot_draws_prior_and_posterior_bars(model):
    dx = model.diagnose({"opsoclonus": "present", "ataxia": "present"}, age=1.5, setting="general_population")
    ax = dx.plot()
    containers = ax.containers
    assert len(containers) == 2
    prior, posterior = containers
    table = dx.table.iloc[::-1]
    np.testing.assert_allclose([b.get_width() for b in posterior], table["posterior"])
    np.testing.assert_allclose([b.get_width() for b in prior], table["prior"])
    assert [t.get_text() for t in ax.get_yticklabels()] == list(table["label"])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "prior: P(condition | age and setting)", "posterior: P(condition | all the evidence)"
    ]
    assert ax.get_xscale() == "log"  # priors are a few per million: a linear axis would hide them
    labels = {t.get_text() for t in ax.texts}
    from omsbayes.plotting.style import percent

    assert percent(dx.prior["oms"]) in labels and percent(dx.prior["oms"]).startswith("0.000")


def test_plot_linear_scale_on_request(model):
    dx = model.diagnose({"opsoclonus": "present", "ataxia": "present"}, age=1.5)
    ax = dx.plot(xscale="linear")
    assert ax.get_xscale() == "linear" and ax.get_xlim() == (0, 1.12)
    with pytest.raises(ValueError, match="xscale must be 'auto', 'log' or 'linear'"):
        dx.plot(xscale="logit")


def test_plot_on_given_axes_with_top(model):
    import matplotlib.pyplot as plt

    _, ax = plt.subplots()
    dx = model.diagnose({"opsoclonus": "present"}, age=1.5)
    assert dx.plot(ax=ax, top=3) is ax
    assert len(ax.containers[1]) == 3


def test_result_displays_and_serialises(model):
    dx = model.diagnose({"opsoclonus": "present", "ataxia": "present"}, age=1.5)
    html = dx._repr_html_()
    assert "<table" in html and "consensus criteria" in html
    data = dx.to_dict()
    assert data["differential"][0]["condition"] == "oms"
    assert data["provenance"]["model_hash"] == model.content_hash
    assert "not a medical device" in dx.report()


# ---------------------------------------------------------------------------
# errors: one clear sentence each
# ---------------------------------------------------------------------------
def test_unknown_variable_suggests_the_closest(model):
    with pytest.raises(EvidenceError, match=r"^Unknown variable 'opsoklonus' in the evidence\. Did you mean 'opsoclonus'\?$"):
        model.diagnose({"opsoklonus": "present"}, age=2)


def test_unknown_variable_without_suggestion(model):
    with pytest.raises(EvidenceError, match=r"^Unknown variable 'zzz' in the evidence\.$"):
        model.diagnose({"zzz": "present"})


def test_illegal_state_lists_the_legal_ones(model):
    with pytest.raises(EvidenceError, match=r"^Variable 'mibg_scan' has no state 'present'; its states are \['negative', 'positive'\]\.$"):
        model.diagnose({"mibg_scan": "present"})
    with pytest.raises(EvidenceError, match=r"Variable 'onset' has no state 'acut'; its states are \['acute', 'subacute', 'chronic'\]\. Did you mean 'acute'\?"):
        model.diagnose({"onset": "acut"})


# NaN is not here: it means "age unknown", as everywhere (issue 10 item 14; tests/test_reliability.py)
@pytest.mark.parametrize("age", [-2, 121, float("inf"), "two", True])
def test_age_must_be_a_finite_number_in_range(model, age):
    with pytest.raises(EvidenceError, match=r"^The 'age' parameter of diagnose must be a number of years between 0 and 120\. Got .+ instead\.$"):
        model.diagnose({"ataxia": "present"}, age=age)


def test_probability_out_of_range(model):
    with pytest.raises(EvidenceError, match=r"The probability given for 'opsoclonus' must be between 0 and 1"):
        model.diagnose({"opsoclonus": 1.5})


def test_probability_for_a_three_state_variable(model):
    with pytest.raises(EvidenceError, match=r"A probability for 'onset' needs a two-state variable"):
        model.diagnose({"onset": 0.5})


def test_all_zero_likelihood(model):
    with pytest.raises(EvidenceError, match=r"The likelihood weights for 'opsoclonus' are all zero"):
        model.diagnose({"opsoclonus": {"absent": 0, "present": 0}})


def test_boolean_instead_of_state(model):
    with pytest.raises(EvidenceError, match=r"Give 'opsoclonus' a state name such as 'present' or 'absent', not True\."):
        model.diagnose({"opsoclonus": True})


def test_evidence_must_be_a_mapping(model):
    with pytest.raises(EvidenceError, match=r"The evidence of diagnose must be a mapping of variable names to states"):
        model.diagnose(["opsoclonus"])


def test_age_twice(model):
    with pytest.raises(EvidenceError, match=r"Give the age either as 'age' in years or as evidence on 'age', not both\."):
        model.diagnose({"age": "toddler"}, age=2)


def test_impossible_evidence_names_the_conflict(model):
    certain = model.with_parameters({"opsoclonus.oms": 1.0})
    with pytest.raises(
        EvidenceError,
        match=r"^The model gives this evidence probability zero: oms=present and opsoclonus=absent cannot all hold\.",
    ):
        certain.diagnose({"oms": "present", "opsoclonus": "absent", "ataxia": "present"}, age=2)


def test_no_nan_anywhere_in_extreme_evidence(model):
    """Many rare findings at once: tiny probabilities, no underflow, no NaN."""
    evidence = {f: model.states(f)[-1] for f in model.findings if f != "onset"}
    evidence.update({t: "positive" for t in model.tests})
    dx = model.diagnose(evidence, age=40)
    assert np.isfinite(dx.posterior).all()
    assert np.isfinite(dx.log_evidence) and dx.log_evidence < -50


def test_posteriors_is_diagnose_without_the_extras(model, vignettes):
    for case in vignettes:
        fast = model.posteriors(case.evidence, age=case.age_years)
        full = model.diagnose(case.evidence, age=case.age_years).posterior
        np.testing.assert_array_equal(fast.to_numpy(), full.to_numpy())
        assert list(fast.index) == model.conditions
    with pytest.raises(EvidenceError, match=r"The 'age' parameter of posteriors must be a number of years"):
        model.posteriors({}, age=-1)
