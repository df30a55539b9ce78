"""An independent engine: pyAgrum's exact inference agrees with omsbayes, and pyAgrum reads the exports.

pyAgrum (aGrUM, C++) shares no code with omsbayes or pgmpy. The default model
is built in pyAgrum from its tables (model 2.0's tables of up to 18 parents
make pgmpy's XMLBIF writer take many minutes, see tests/test_export.py), and
pyAgrum's exact inference (LazyPropagation, a junction tree) must give
omsbayes' posteriors to 1e-9 on every public case. The exports are read by
pyAgrum on the tiny model: XMLBIF digit for digit; its BIF, NET and UAI
parsers read numbers in single precision (about 7 significant digits), so
those files are checked to 1e-7 here, and digit for digit by pgmpy in
tests/test_export.py.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from omsbayes.export import FORMATS, to_pyagrum, uai_order

with warnings.catch_warnings():
    # pyAgrum's SWIG bindings warn at import (DeprecationWarning: builtin type SwigPyPacked has no
    # __module__ attribute); raised as an error, as the suite's filterwarnings does, it crashes Python.
    warnings.simplefilter("ignore", DeprecationWarning)
    import pyagrum as gum


@pytest.fixture(scope="module")
def exported(tiny, tmp_path_factory):
    """The tiny model in every format (pyAgrum knows XMLBIF by the suffix .bifxml)."""
    folder = tmp_path_factory.mktemp("pyagrum")
    return {fmt: tiny.export(folder / f"tiny{suffix}") for fmt, suffix in FORMATS.items()}


def agrum_from_tables(model):
    """The model as a pyAgrum BayesNet, built from its tables."""
    return to_pyagrum(model)


@pytest.fixture(scope="module")
def agrum_bn(model):
    return agrum_from_tables(model)


@pytest.fixture(scope="module")
def tiny_bn(exported):
    return gum.loadBN(str(exported["xmlbif"]))


def agrum_table(bn, node: str, names: list[str]) -> np.ndarray:
    """A pyAgrum CPT as ``array[state, *parents]`` in the order ``names`` (node first).

    pyAgrum lists a CPT's variables node first and stores the first one
    fastest, so ``toarray()`` has them in reverse.
    """
    cpt = bn.cpt(node)
    axes = list(reversed(cpt.names))
    return np.transpose(cpt.toarray(), [axes.index(n) for n in names])


def test_pyagrum_reads_the_xmlbif_export_exactly(tiny, tiny_bn):
    assert sorted(tiny_bn.names()) == sorted(tiny.variables)
    for name in tiny.variables:
        assert tuple(tiny_bn.variable(name).labels()) == tiny.states(name)
        table = agrum_table(tiny_bn, name, [name, *tiny.parents(name)])
        assert np.array_equal(table, tiny.tables[name]), name


def test_the_default_model_built_in_pyagrum_has_its_tables(model, agrum_bn):
    for name in model.variables:
        assert np.array_equal(agrum_table(agrum_bn, name, [name, *model.parents(name)]), model.tables[name]), name


def test_pyagrum_agrees_on_the_xmlbif_export_of_the_tiny_model(tiny, tiny_bn):
    evidence = tiny.normalize({"opsoclonus": "present"}, 2.0)
    theirs = agrum_posteriors(tiny_bn, tiny, evidence)
    ours = tiny.diagnose({"opsoclonus": "present"}, age=2.0).posterior
    for condition, posterior in theirs.items():
        assert abs(posterior[1] - ours[condition]) <= 1e-9, condition


def file_names(model, fmt: str) -> dict[str, str]:
    """Variable -> its name in pyAgrum (UAI holds no names: pyAgrum calls variable i of the file "i")."""
    return {v: str(i) for i, v in enumerate(uai_order(model))} if fmt == "uai" else {v: v for v in model.variables}


@pytest.mark.parametrize("fmt", ["bif", "net"])
def test_pyagrum_reads_the_bif_and_net_exports(tiny, exported, fmt):
    model = tiny
    bn = gum.loadBN(str(exported[fmt]))
    assert sorted(bn.names()) == sorted(model.variables)
    for name in model.variables:
        assert tuple(bn.variable(name).labels()) == model.states(name)
        table = agrum_table(bn, name, [name, *model.parents(name)])
        np.testing.assert_allclose(table, model.tables[name], rtol=1e-7, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("fmt", ["uai", "xdsl"])
def test_pyagrum_reads_the_uai_and_xdsl_exports(tiny, exported, fmt):
    """Variables, states and every table of at most one parent.

    pyAgrum 3.3 lays out the tables of these two formats with the first
    parent changing fastest: the opposite of the UAI format's order (the last
    variable of a scope changes fastest) and of SMILE's (the last parent),
    which the exports follow and pgmpy reads back (tests/test_export.py). So
    its tables of two or more parents come out permuted, and are not compared.
    """
    model = tiny
    bn = gum.loadBN(str(exported[fmt]))
    names = file_names(model, fmt)
    assert sorted(bn.names()) == sorted(names.values())
    for name in model.variables:
        node = names[name]
        assert bn.variable(node).domainSize() == len(model.states(name))
        if fmt == "xdsl":
            assert tuple(bn.variable(node).labels()) == model.states(name)
        if len(model.parents(name)) <= 1:
            table = agrum_table(bn, node, [node] + [names[p] for p in model.parents(name)])
            np.testing.assert_allclose(table, model.tables[name], rtol=1e-7, atol=1e-12, err_msg=name)


def agrum_posteriors(bn, model, evidence) -> dict[str, np.ndarray]:
    """Posteriors of every unobserved condition by pyAgrum's LazyPropagation (junction tree, exact)."""
    inference = gum.LazyPropagation(bn)
    inference.setEvidence(
        {var: state for var, state in evidence.hard.items()}
        | {var: [float(x) for x in vec] for var, vec in evidence.soft.items()}
    )
    inference.makeInference()
    return {c: inference.posterior(c).toarray() for c in model.conditions if c not in evidence.hard}


def test_pyagrum_lazy_propagation_agrees_on_every_vignette(model, agrum_bn, vignettes):
    assert len(vignettes) >= 14
    worst = 0.0
    for case in vignettes:
        diagnosis = model.diagnose(case.evidence, age=case.age_years)
        evidence = model.normalize(case.evidence, case.age_years)
        assert evidence.age_bin is not None and evidence.hard["age"] == evidence.age_bin  # years mapped to a bin
        theirs = agrum_posteriors(agrum_bn, model, evidence)
        assert sorted(theirs) == sorted(c for c in model.conditions if c not in evidence.hard)
        for condition, posterior in theirs.items():
            assert posterior.sum() == pytest.approx(1.0, abs=1e-12)
            error = abs(posterior[1] - diagnosis.posterior[condition])
            ours = diagnosis.posterior[condition]
            assert error <= 1e-9, f"{case.id}: P({condition}) pyAgrum {posterior[1]!r}, omsbayes {ours!r}"
            worst = max(worst, error)
    assert worst < 1e-9


def test_pyagrum_agrees_without_evidence_and_with_soft_evidence(model, agrum_bn):
    """The prior (age unknown: the population's age mix) and a finding reported with probability 0.8."""
    for evidence in ({}, {"opsoclonus": 0.8, "ataxia": "present"}):
        diagnosis = model.diagnose(evidence)
        theirs = agrum_posteriors(agrum_bn, model, model.normalize(evidence))
        for condition, posterior in theirs.items():
            assert abs(posterior[1] - diagnosis.posterior[condition]) <= 1e-9, condition
