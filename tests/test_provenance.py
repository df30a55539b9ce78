"""Every result of the public API records the model's name, version and content hash and the software versions.

The methods of DiagnosticModel that return a result are found from their
return annotations, and each public result class of ``omsbayes`` must come out
of one of the calls below, so a new analysis without a call here fails
:func:`test_every_result_method_and_class_is_covered` until it is added.
"""

from __future__ import annotations

import dataclasses
import inspect
import re

import pandas as pd
import pytest

import omsbayes
from omsbayes.engine.pgmpy_adapter import pgmpy_version
from omsbayes.model import DiagnosticModel

EVIDENCE = {"opsoclonus": "present", "ataxia": "present"}
AGE = 1.5

#: How to get each result from a model (keyed by the method or function that returns it).
CALLS = {
    "diagnose": lambda m, cases: m.diagnose(EVIDENCE, age=AGE),
    "diagnose_batch": lambda m, cases: m.diagnose_batch(pd.DataFrame([{**EVIDENCE, "age": AGE}, {"opsoclonus": "absent"}])),
    "sensitivity": lambda m, cases: m.sensitivity(EVIDENCE, age=AGE),
    "uncertainty": lambda m, cases: m.uncertainty(EVIDENCE, age=AGE, draws=40, rng=7, progress=False),
    "evidence_impact": lambda m, cases: m.evidence_impact(EVIDENCE, age=AGE),
    "value_of_information": lambda m, cases: m.value_of_information(EVIDENCE, age=AGE, candidates=["myoclonus", "mibg_scan"]),
    "what_if": lambda m, cases: m.what_if(EVIDENCE, {"no ataxia": {"ataxia": None}}, age=AGE),
    "sweep_age": lambda m, cases: m.sweep_age(EVIDENCE, ages=[1.5, 30.0]),
    "sweep_parameter": lambda m, cases: m.sweep_parameter(EVIDENCE, "opsoclonus.oms", values=[0.5, 0.9], age=AGE),
    "evidence_trajectory": lambda m, cases: m.evidence_trajectory(EVIDENCE, age=AGE),
    "evaluate": lambda m, cases: omsbayes.evaluate(m, cases),
    "natural_frequencies": lambda m, cases: omsbayes.natural_frequencies(m, "neuroblastoma", "oms", age=AGE),
}

#: Return annotations of DiagnosticModel methods that are not results.
NOT_RESULTS = {"DiagnosticModel", "Path", "NormalizedEvidence", "ModelSpec"}


def result_methods() -> set[str]:
    """Public methods of DiagnosticModel annotated to return a class other than NOT_RESULTS."""
    found = set()
    for name, member in vars(DiagnosticModel).items():
        if name.startswith("_") or not inspect.isfunction(member):
            continue
        returns = inspect.signature(member).return_annotation
        if isinstance(returns, str) and re.fullmatch(r"[A-Z]\w*", returns) and returns not in NOT_RESULTS:
            found.add(name)
    return found


def result_classes() -> set[type]:
    """Public classes of omsbayes with a ``provenance`` field."""
    return {
        obj
        for obj in (getattr(omsbayes, name) for name in omsbayes.__all__)
        if isinstance(obj, type) and dataclasses.is_dataclass(obj) and "provenance" in {f.name for f in dataclasses.fields(obj)}
    }


def available(model) -> list[str]:
    """The calls whose method (on the model) or function (in omsbayes) exists."""
    return [name for name in CALLS if hasattr(model, name) or hasattr(omsbayes, name)]


@pytest.fixture(scope="module")
def results(model, vignettes):
    return {name: CALLS[name](model, vignettes) for name in available(model)}


def expected(model) -> dict:
    return {
        "model_name": model.name,
        "model_version": model.version,
        "model_hash": model.content_hash,
        "parameters_changed": sorted(model.overrides),
        "omsbayes_version": omsbayes.__version__,
        "pgmpy_version": pgmpy_version(),
    }


def provenance_dict(result) -> dict:
    """The provenance a result records (a DataFrame result keeps it in ``attrs``)."""
    if isinstance(result, pd.DataFrame):
        return result.attrs["provenance"]
    assert isinstance(result.provenance, omsbayes.Provenance)
    assert result.to_dict()["provenance"] == result.provenance.to_dict()
    return result.provenance.to_dict()


def test_every_result_method_and_class_is_covered(model, results):
    missing = result_methods() - set(CALLS)
    assert not missing, f"add how to call {sorted(missing)} to CALLS in tests/test_provenance.py"
    uncovered = result_classes() - {type(r) for r in results.values()}
    assert not uncovered, f"no call in CALLS returns {sorted(c.__name__ for c in uncovered)}: add one"
    assert {"diagnose", "evaluate"} <= set(results)


@pytest.mark.parametrize("name", list(CALLS))
def test_result_records_model_and_software(model, results, name):
    assert name in results, f"{name} is not part of the API (any more): remove it from CALLS"
    assert provenance_dict(results[name]) == expected(model)


def test_versions_are_real(model):
    prov = model.diagnose({}).provenance
    assert re.fullmatch(r"[0-9a-f]{16}", prov.model_hash)
    assert prov.model_version == "2.0.0" and prov.omsbayes_version == omsbayes.__version__
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", prov.pgmpy_version) and prov.pgmpy_version != "not installed"
    assert f"hash {prov.model_hash}" in str(prov)


def test_content_hash_changes_with_a_parameter(model):
    changed = model.with_parameters({"opsoclonus.oms": 0.9})
    assert changed.content_hash != model.content_hash
    assert changed.with_parameters({}).content_hash == changed.content_hash
    assert model.with_parameters({"opsoclonus.oms": 0.9}).content_hash == changed.content_hash  # a function of the values
    assert model.with_parameters({"opsoclonus.oms": 0.91}).content_hash not in (model.content_hash, changed.content_hash)
    assert omsbayes.load_model().content_hash == model.content_hash
    dx = changed.diagnose(EVIDENCE, age=AGE)
    assert dx.provenance.model_hash == changed.content_hash
    assert dx.provenance.parameters_changed == ("opsoclonus.oms",)
    assert dx.to_dict()["provenance"]["parameters_changed"] == ["opsoclonus.oms"]
    assert "1 parameter(s) changed" in str(dx.provenance)
