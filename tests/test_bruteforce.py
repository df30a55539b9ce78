"""Posteriors equal brute-force enumeration of the joint distribution.

Two independent oracles:

* the tiny model: a pure-Python loop over every one of its joint configurations;
* the default model: the dense joint over the ancestral set of the evidence
  and the conditions (every other variable is barren and sums to one, so this
  sub-network gives exactly the same posteriors), multiplied out with numpy
  broadcasting rather than contracted.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import omsbayes

from .conftest import TINY_MODEL

AGES = [None, 0.5, 2.0, 7.0, 15.0, 30.0, 70.0]
_DEFAULT = omsbayes.load_model()
_TINY = omsbayes.load_model(TINY_MODEL)


# ---------------------------------------------------------------------------
# tiny model: loop over the full joint
# ---------------------------------------------------------------------------
def _loop_joint_posteriors(m, hard: dict[str, str]) -> dict[str, np.ndarray]:
    names = m.variables
    states = [m.states(v) for v in names]
    totals = {v: np.zeros(len(s)) for v, s in zip(names, states)}
    for config in itertools.product(*[range(len(s)) for s in states]):
        assign = dict(zip(names, config))
        if any(m.states(v)[assign[v]] != s for v, s in hard.items()):
            continue
        p = 1.0
        for v in names:
            index = (assign[v],) + tuple(assign[q] for q in m.parents(v))
            p *= float(m.tables[v][index])
        for v in names:
            totals[v][assign[v]] += p
    return {v: t / t.sum() for v, t in totals.items()}


@st.composite
def tiny_evidence(draw):
    m = _TINY
    observable = [v for v in m.variables if v != "age"]
    chosen = draw(st.lists(st.sampled_from(observable), unique=True, max_size=4))
    hard = {v: draw(st.sampled_from(m.states(v))) for v in chosen}
    if draw(st.booleans()):
        hard["age"] = draw(st.sampled_from(m.age_states))
    return hard


@given(hard=tiny_evidence())
def test_tiny_model_matches_full_enumeration(tiny, hard):
    expected = _loop_joint_posteriors(tiny, hard)
    queries = [v for v in tiny.variables if v not in hard]
    got = tiny.query(queries, hard)
    for v in queries:
        np.testing.assert_allclose(got[v].to_numpy(), expected[v], rtol=1e-12, atol=1e-14, err_msg=v)


# ---------------------------------------------------------------------------
# default model: dense joint over the ancestral sub-network
# ---------------------------------------------------------------------------
def _dense_posteriors(m, likelihoods: dict[str, np.ndarray], queries: list[str]) -> dict[str, np.ndarray]:
    net_vars = set()
    stack = list(likelihoods) + list(queries)
    while stack:
        v = stack.pop()
        if v not in net_vars:
            net_vars.add(v)
            stack.extend(m.parents(v))
    # An observed variable with no child in the sub-network and not queried is summed against its
    # likelihood at once (sum_x L(x) P(x | parents)): exact, and it keeps the dense joint small.
    has_child = {p for v in net_vars for p in m.parents(v)}
    leaves = {v for v in likelihoods if v not in has_child and v not in queries}
    axes = [v for v in m.variables if v in net_vars and v not in leaves]
    # States of zero likelihood contribute nothing: each axis keeps only the others (an observed
    # variable one state), and its likelihood weights them, so the joint stays small and exact.
    keep = {v: np.flatnonzero(likelihoods[v]) if v in likelihoods else np.arange(len(m.states(v))) for v in axes}
    shape = [len(keep[v]) for v in axes]
    joint = np.ones(shape)
    for v in axes + sorted(leaves):
        table = m.tables[v]
        family = [v, *m.parents(v)]
        for i, f in enumerate(family):
            if f in keep:
                table = np.take(table, keep[f], axis=i)
        if v in leaves:
            table = np.tensordot(likelihoods[v], table, axes=(0, 0))
            family = list(m.parents(v))
        order = sorted(range(len(family)), key=lambda i: axes.index(family[i]))
        t = np.transpose(table, order)
        bshape = [1] * len(axes)
        for i in order:
            bshape[axes.index(family[i])] = shape[axes.index(family[i])]
        joint = joint * t.reshape(bshape)
        if v in likelihoods and v not in leaves:
            lshape = [1] * len(axes)
            lshape[axes.index(v)] = shape[axes.index(v)]
            joint = joint * likelihoods[v][keep[v]].reshape(lshape)
    out = {}
    for q in queries:
        others = tuple(i for i, v in enumerate(axes) if v != q)
        marginal = np.zeros(len(m.states(q)))
        marginal[keep[q]] = joint.sum(axis=others)
        out[q] = marginal / marginal.sum()
    return out


OBSERVABLE = [v for v in _DEFAULT.variables if _DEFAULT.role(v) in ("finding", "test", "history")]


@st.composite
def default_evidence(draw):
    m = _DEFAULT
    chosen = draw(st.lists(st.sampled_from(OBSERVABLE), unique=True, min_size=1, max_size=4))
    evidence = {}
    for v in chosen:
        if draw(st.integers(0, 4)) == 0 and len(m.states(v)) == 2:
            evidence[v] = draw(st.floats(0.05, 0.95))  # soft evidence
        else:
            evidence[v] = draw(st.sampled_from(m.states(v)))
    return evidence, draw(st.sampled_from(AGES))


@given(case=default_evidence())
def test_default_model_matches_dense_joint(model, case):
    # In the general population, so that the ancestral set stays small enough for a dense joint;
    # a setting (below) makes every condition an ancestor of the evidence.
    evidence, age = case
    evidence = {**evidence, "setting": "general_population"}
    ev = model.normalize(evidence, age)
    expected = _dense_posteriors(model, ev.likelihoods(model.state_map), model.conditions)
    got = model.diagnose(evidence, age=age).posterior
    for c in model.conditions:
        assert got[c] == pytest.approx(expected[c][1], rel=1e-9, abs=1e-15), c


def test_board_case_matches_dense_joint(model, vignettes):
    case = vignettes["pub-board-18mo-oms-neuroblastoma"]
    ev = model.normalize({**case.evidence, "setting": "paediatric_acute"}, case.age_years)
    assert ev.setting == "paediatric_acute" and ev.hard["acute_presentation"] == "present"
    # In its setting every condition is an ancestor of the evidence: the dense joint spans the 18
    # conditions and their causes at the toddler bin (~2**24 entries); still exact.
    queries = ["oms", "neuroblastoma", "aca", "intoxication"]
    expected = _dense_posteriors(model, ev.likelihoods(model.state_map), queries)
    dx = model.diagnose(case.evidence, age=case.age_years, setting="paediatric_acute")
    for c in queries:
        assert dx.posterior[c] == pytest.approx(expected[c][1], rel=1e-9, abs=1e-15), c
