"""Schema of the bundled public vignettes, independent of the model's numbers.

Every evidence variable and state must be in the current default model or in
the model-2.0 vocabulary below (fixed for model 2.0; to be replaced by the
model itself once model 2.0 is the default).
"""

from __future__ import annotations

import re
from collections import Counter

import pytest

from omsbayes.paths import datasets_dir
from omsbayes.yamlio import read_yaml

BINARY = ["absent", "present"]
TEST = ["negative", "positive"]
#: Variables added by model 2.0 (conditions, findings, tests) and their states.
MODEL2_VARIABLES = {
    **{c: BINARY for c in ("pcd", "recessive_ataxia", "alcohol_related_ataxia", "encephalitis",
                           "other_acute_cause", "other_chronic_cause")},
    **{f: BINARY for f in ("hyporeflexia", "pyramidal_signs", "proprioceptive_loss", "skeletal_deformity",
                           "cardiomyopathy", "downbeat_nystagmus", "ophthalmoplegia_bilateral",
                           "hyperacute_onset", "infection_latency", "spinal_cord_signs")},
    "exposure_history": ["denied", "reported"],
    **{t: TEST for t in ("mri_supratentorial_lesions", "anti_yo", "anti_tr", "anti_mglur1", "anti_klhl11",
                         "anti_ma2")},
}
MODEL2_CONDITIONS = ["pcd", "recessive_ataxia", "alcohol_related_ataxia", "encephalitis",
                     "other_acute_cause", "other_chronic_cause"]
SETTINGS = {"general_population", "paediatric_acute", "adult_acute", "neurology_referral", "known_cancer"}
#: The differentials that need at least four cases each as primary diagnosis.
DIFFERENTIALS = ["oms", "aca", "cerebellitis", "adem", "posterior_fossa_tumor", "intoxication", "miller_fisher",
                 "cerebellar_stroke", "seizure_disorder", "spinocerebellar_ataxia", "pcd", "recessive_ataxia",
                 "alcohol_related_ataxia", "encephalitis"]
#: A finding that the vocabulary says comes with another: (variable, state) -> (variable, state).
IMPLIES = {
    ("downbeat_nystagmus", "present"): ("nystagmus", "present"),
    ("ophthalmoplegia_bilateral", "present"): ("ophthalmoplegia", "present"),
    ("hyperacute_onset", "present"): ("onset", "acute"),
    ("infection_latency", "present"): ("recent_infection", "present"),
}


@pytest.fixture(scope="module")
def raw():
    return read_yaml(datasets_dir() / "public_vignettes.yaml")["cases"]


@pytest.fixture(scope="module")
def vocabulary(model):
    states = {name: list(s) for name, s in model.state_map.items()}
    for name, s in MODEL2_VARIABLES.items():
        states.setdefault(name, s)
    return states


def test_ids_are_unique_and_every_case_is_complete(raw):
    ids = [c["id"] for c in raw]
    assert len(ids) == len(set(ids)), [i for i, n in Counter(ids).items() if n > 1]
    for case in raw:
        where = case["id"]
        assert isinstance(case.get("source"), str) and len(case["source"]) > 30, where
        # a year, DOI or PMID for a publication; a web address or the words 'teaching vignette' for a teaching case
        assert re.search(r"\b(19|20)\d\d\b|doi:|PMID|http", case["source"]) or (
            "teaching vignette" in case["source"]
        ), f"{where}: the source names no year, DOI, PMID or address"
        assert case.get("setting") in SETTINGS, where
        assert isinstance(case.get("age_years"), (int, float)) and 0 <= case["age_years"] < 110, where
        assert case["primary"] in case["diagnosis"], where
        assert case.get("difficulty") in {"easy", "moderate", "hard"}, where
        assert case.get("summary"), where
        assert case.get("evidence"), where


def test_enough_cases_per_differential_and_adults(raw):
    assert len(raw) >= 75
    per_primary = Counter(c["primary"] for c in raw)
    short = {d: per_primary[d] for d in DIFFERENTIALS if per_primary[d] < 4}
    assert not short, f"fewer than 4 cases: {short}"
    assert sum(c["age_years"] >= 18 for c in raw) >= 25


def test_evidence_is_in_the_vocabulary(raw, vocabulary, model):
    conditions = set(model.conditions) | set(MODEL2_CONDITIONS)
    for case in raw:
        for var, state in case["evidence"].items():
            assert var in vocabulary, f"{case['id']}: unknown variable {var!r}"
            assert state in vocabulary[var], f"{case['id']}: {var} has no state {state!r}"
        for d in case["diagnosis"]:
            assert d in conditions, f"{case['id']}: unknown condition {d!r}"


def test_companion_findings_are_set(raw):
    for case in raw:
        ev = case["evidence"]
        for (var, state), (other, other_state) in IMPLIES.items():
            if ev.get(var) == state:
                assert ev.get(other) == other_state, f"{case['id']}: {var}={state} needs {other}={other_state}"
