"""The default model: vocabulary contract, sources and uncertainty of every parameter, literature targets."""

from __future__ import annotations

import math

import numpy as np
import pytest
import yaml

import omsbayes
from omsbayes.modelcheck import vocabulary_problems
from omsbayes.paths import models_dir
from omsbayes.targets import evaluate_target

VOCABULARY = yaml.safe_load((models_dir() / "vocabulary.yaml").read_text())


def _vocabulary_variables():
    out = {"age": VOCABULARY["age"]["states"], "onset": VOCABULARY["onset"]["states"]}
    for section, states in (("conditions", ["absent", "present"]), ("history", ["absent", "present"]),
                            ("findings", ["absent", "present"]), ("tests", ["negative", "positive"])):
        for name in VOCABULARY[section]:
            out[name] = states
    return out


@pytest.mark.parametrize("name,states", sorted(_vocabulary_variables().items()))
def test_vocabulary_variable_present_with_exact_states(model, name, states):
    assert name in model.variables
    assert list(model.states(name)) == states


def test_vocabulary_contract_has_no_problems(model):
    assert vocabulary_problems(model) == []


def test_age_bins_follow_the_vocabulary(model):
    assert list(model.age_states) == VOCABULARY["age"]["states"]
    assert list(model.spec.age_bins_years) == [float(x) for x in VOCABULARY["age"]["bins_years"]]


def test_reported_conditions_are_the_vocabulary_conditions(model):
    """The vocabulary's conditions first, in its order, then model 2.0's own; the residual causes apart."""
    vocabulary = list(VOCABULARY["conditions"])
    assert model.conditions[: len(vocabulary)] == vocabulary
    assert set(model.conditions[len(vocabulary):]) == {"pcd", "recessive_ataxia", "alcohol_related_ataxia", "encephalitis"}
    assert model.residual_conditions == ["other_acute_cause", "other_chronic_cause"]


def test_every_parameter_is_sourced_or_marked(model):
    params = model.parameters
    for name, row in params.iterrows():
        spec = model.spec.parameters[name]
        if spec.is_derived:
            assert row["derived"], name
            continue
        assert spec.sources or spec.expert, f"{name} has neither a source nor an expert reason"
        for sid in spec.sources:
            assert sid in model.spec.evidence, f"{name} cites unknown {sid}"
        if row["expert"]:
            assert row["reason"].strip(), f"expert estimate {name} has no reason"


def test_every_measured_parameter_has_an_uncertainty_containing_its_value(model):
    params = model.parameters
    for name, row in params.iterrows():
        assert row["low"] <= row["value"] * (1 + 1e-9) and row["value"] <= row["high"] * (1 + 1e-9) + 1e-15, name
        assert row["low"] < row["high"], name
        assert row["distribution"], name


def test_expert_estimates_are_classified_by_their_sources(model):
    """A parameter is an expert estimate if it says so or cites only expert-estimate evidence."""
    params = model.parameters
    assert params.loc["opsoclonus.leak", "expert"]  # `expert:` reason in the file
    assert params.loc["oms.nb_fraction", "expert"] == False  # noqa: E712 - 258/517 pooled series
    assert params.loc["aca.nystagmus" if "aca.nystagmus" in params.index else "nystagmus.aca", "expert"]  # cites an expert entry
    assert "expert estimate" in model.spec.evidence["aca-nystagmus"].source


def test_beta_from_counts_matches_the_paper(model):
    """P(myoclonus | oms) from 35/37: Beta with mean 35/37 and 39 pseudo-observations."""
    spec = model.spec.parameters["myoclonus.oms"]
    a, b = spec.uncertainty._shape
    assert a + b == pytest.approx(39)
    assert a / (a + b) == pytest.approx(35 / 37, abs=1e-4)


def test_all_or_none_counts_are_shrunk(model):
    """45/45 with ataxia becomes 46/47, as GAPS.md asks (never 1.0)."""
    assert model.values["ataxia.oms"] == pytest.approx(46 / 47, abs=1e-4)
    assert all(v < 1.0 for k, v in model.values.items() if model.spec.parameters[k].uncertainty.kind == "beta")


@pytest.mark.parametrize("target", [t.id for t in omsbayes.load_model().spec.targets])
def test_literature_target_is_met(model, target):
    spec = next(t for t in model.spec.targets if t.id == target)
    value = evaluate_target(model, spec)
    assert spec.low <= value <= spec.high, f"{target}: {value:.4g} outside [{spec.low}, {spec.high}]"


def test_anchor_facts(model):
    """About 2% of children with neuroblastoma have OMS; about half of children with OMS have a neuroblastoma."""
    children = ["infant", "toddler", "child", "adolescent"]
    population = "general_population"  # population figures, not a clinical setting
    p_oms = model.query(["oms"], {"neuroblastoma": "present", "age": {a: 1.0 for a in children}}, setting=population)["oms"]["present"]
    assert 0.02 <= p_oms <= 0.031
    for age in (1.5, 6.0):
        p_nb = model.query(["neuroblastoma"], {"oms": "present"}, age=age, setting=population)["neuroblastoma"]["present"]
        assert 0.40 <= p_nb <= 0.60


def test_derived_parameters_follow_their_formula(model):
    values = model.values
    expected = (
        values["neuroblastoma.incidence.toddler"]
        * values["oms.p_given_neuroblastoma.toddler"]
        * (1 - values["oms.nb_fraction"])
        / values["oms.nb_fraction"]
    )
    assert values["oms.non_tumour_rate.toddler"] == pytest.approx(expected, rel=1e-12)


def test_with_parameters_returns_a_new_model_and_leaves_the_old(model):
    before = model.tables["opsoclonus"].copy()
    changed = model.with_parameters({"opsoclonus.oms": 0.9})
    assert changed is not model
    np.testing.assert_array_equal(model.tables["opsoclonus"], before)
    assert changed.values["opsoclonus.oms"] == 0.9
    assert model.values["opsoclonus.oms"] == 0.7
    assert changed.content_hash != model.content_hash
    assert changed.overrides == {"opsoclonus.oms": 0.9}


def test_with_parameters_scales_group_siblings_proportionally(model):
    changed = model.with_parameters({"onset.oms.acute": 0.5})
    v = changed.values
    assert v["onset.oms.subacute"] == pytest.approx(0.6 * 0.5 / 0.7)
    assert v["onset.oms.chronic"] == pytest.approx(0.1 * 0.5 / 0.7)
    assert v["onset.oms.acute"] + v["onset.oms.subacute"] + v["onset.oms.chronic"] == pytest.approx(1.0)


def test_with_parameters_rejects_unknown_and_out_of_range(model):
    with pytest.raises(omsbayes.EvidenceError, match=r"Unknown parameter 'opsoclonus\.om'\. Did you mean 'opsoclonus\.oms'\?"):
        model.with_parameters({"opsoclonus.om": 0.5})
    with pytest.raises(omsbayes.EvidenceError, match=r"The value of parameter 'opsoclonus.oms' must be between 0 and 1\. Got -0\.1 instead\."):
        model.with_parameters({"opsoclonus.oms": -0.1})
    with pytest.raises(omsbayes.EvidenceError, match=r"The value of parameter 'oms.incidence.adults' must be a number\. Got 'x' instead\."):
        model.with_parameters({"oms.incidence.adults": "x"})


def test_population_and_intended_use_are_stated(model):
    assert "not a medical device" in model.spec.intended_use.lower()
    assert "per person-year" in model.spec.population
    assert len(model.spec.gaps) >= 3


def test_evidence_table_is_the_projects_own_copy(model):
    """The shared table's 280 entries plus the project's additions; no entry lacks a source."""
    evidence = model.spec.evidence
    assert len(evidence) >= 400
    assert all(e.source.strip() for e in evidence.values())
    colombia = evidence["ataxia-mix-intox-colombia"]
    assert colombia.n == 44 and math.isclose(colombia.estimate, 9 / 44, abs_tol=1e-4)
