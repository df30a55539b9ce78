"""The universal program's enumeration by level: its stopping rule, and the by-products diagnose uses.

The kernel visits the configurations of the conditions by the number present
and stops a row once the prior mass of the levels it has not visited (which
bounds what they could add, every factor being at most 1) is at most
``tolerance`` times its P(e) so far. These tests check the bound itself
against the full enumeration (``tolerance = 0``) at tolerances large enough
for the stop to change the answers, and the outer posteriors (age, residual
causes) and P(no condition present) against pgmpy.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from omsbayes.cases import load_public_vignettes
from omsbayes.diagnosis import _no_listed_condition
from omsbayes.engine import posterior_arrays
from omsbayes.engine.pgmpy_adapter import pgmpy_query
from omsbayes.engine.universal import RELATIVE_TOLERANCE, TAIL_TOLERANCE, build_universal


def _random_rows(model, rng, n):
    """Rows of (states, likelihoods): each its own findings and tests, mostly an age, some soft, some histories."""
    observable = model.findings + model.tests
    states = {v: np.full(n, -1) for v in model.variables}
    soft = {v: np.full((n, len(model.states(v))), np.nan) for v in model.variables}
    for r in range(n):
        for v in rng.choice(observable, int(rng.integers(4, 16)), replace=False):
            if rng.random() < 0.15:
                soft[v][r] = rng.uniform(0.05, 1.0, len(model.states(v)))
                soft[v][r] /= soft[v][r].max()
            else:
                states[v][r] = int(rng.integers(len(model.states(v))))
        if rng.random() < 0.85:
            states["age"][r] = int(rng.integers(len(model.states("age"))))
        if rng.random() < 0.3:
            history = rng.choice(model.history)
            states[history][r] = int(rng.integers(len(model.states(history))))
    states = {v: s for v, s in states.items() if (s >= 0).any()}
    soft = {v: lam for v, lam in soft.items() if not np.isnan(lam[:, 0]).all()}
    return states, soft


@pytest.fixture(scope="module")
def program(model):
    return build_universal(model.engine.network, model.tables, model.conditions, 2**30)


@pytest.fixture(scope="module")
def rows(model):
    return _random_rows(model, np.random.default_rng(20261203), 60)


def test_every_configuration_is_visited_once(program):
    """The levels partition the configurations, and each level holds the configurations with that many present."""
    nq = program.nq
    assert sorted(program.order.tolist()) == list(range(2**nq))
    for level in range(nq + 1):
        members = program.order[program.level_ptr[level] : program.level_ptr[level + 1]]
        assert len(members) == math.comb(nq, level)
        assert all(bin(int(c)).count("1") == level for c in members)
    np.testing.assert_array_equal(program.bit_weight[:nq].sum(axis=0), [bin(int(c)).count("1") for c in program.order])


def test_the_tails_are_the_prior_mass_above_each_level(program):
    prior, tail, condition_tail = program.prior([np.ones(program.cards[v]) for v in program.upstream])
    count = program.bit_weight[:-1].sum(axis=0)
    for level in (0, 3, program.nq - 1, program.nq):
        np.testing.assert_allclose(tail[:, level], prior[:, count > level].sum(axis=1), rtol=1e-12, atol=0)
        for j in (0, program.nq - 1):
            with_j = (count > level) & (program.bit_weight[j] == 1)
            np.testing.assert_allclose(condition_tail[:, level, j], prior[:, with_j].sum(axis=1), rtol=1e-12, atol=0)


def _full_and_early(program, rows, monkeypatch, tolerance: float, relative: float):
    """The program's run with every configuration (``tolerance = 0``) and with the given stopping rule."""
    states, soft = rows
    batch = len(next(iter(states.values())))
    monkeypatch.setattr(program, "tolerance", 0.0)
    full = program.run(states, soft, batch)
    monkeypatch.setattr(program, "tolerance", tolerance)
    monkeypatch.setattr(program, "relative_tolerance", relative)
    return full, program.run(states, soft, batch)


@pytest.mark.parametrize("tolerance", [1e-2, 1e-5, TAIL_TOLERANCE])
def test_stopping_early_stays_within_its_bound(program, rows, tolerance, monkeypatch):
    """Every posterior within ``tolerance`` of the full enumeration's, and P(e) low by at most that fraction."""
    relative = 1.0 if tolerance > TAIL_TOLERANCE else RELATIVE_TOLERANCE  # 1: the relative rule off
    full, early = _full_and_early(program, rows, monkeypatch, tolerance, relative)
    assert full.done.all() and early.done.all()
    slack = 1e-15  # rounding: the two sum the same terms in a different grouping
    assert np.abs(early.present - full.present).max() <= tolerance + slack
    assert np.abs(early.outer - full.outer).max() <= tolerance + slack
    assert np.abs(early.none - full.none).max() <= tolerance + slack
    shortfall = np.expm1(full.log_z - early.log_z)  # (P(e) - P(e) so far) / P(e) so far
    assert shortfall.min() >= -1e-13 and shortfall.max() <= tolerance * (1 + 1e-9) + 1e-13
    if tolerance >= 1e-5:  # the stop really changed something: the checks above have something to check
        assert shortfall.max() > 1e-12 and np.abs(early.present - full.present).max() > 1e-12


@pytest.mark.parametrize("relative", [1e-3, 1e-6, RELATIVE_TOLERANCE])
def test_stopping_early_keeps_small_posteriors_relatively_accurate(program, rows, relative, monkeypatch):
    """With the absolute rule off, each posterior within a relative (1 + nq) x ``relative`` of the full enumeration's.

    A condition's mass misses at most ``relative`` of itself; P(e) misses at most the sum of the conditions'
    misses (every configuration above level 0 has a condition present), at most nq x ``relative`` of P(e).
    """
    full, early = _full_and_early(program, rows, monkeypatch, 1.0, relative)
    positive = full.present > 0
    error = np.abs(early.present - full.present)[positive] / full.present[positive]
    assert error.max() <= (1 + program.nq) * relative * (1 + 1e-9) + 1e-12
    if relative >= 1e-6:
        assert error.max() > relative / 1e4  # the stop changed something
    assert full.present.min() < 1e-8  # there are small posteriors to be relatively accurate about


def _some_rows(rows, picked):
    """The rows ``picked`` of ``(states, likelihoods)``."""
    states, soft = rows
    sub_states = {v: s[picked] for v, s in states.items()}
    sub_soft = {v: lam[picked] for v, lam in soft.items()}
    return sub_states, sub_soft


def _row_evidence(model, sub_states, sub_soft, r):
    """Row ``r`` as pgmpy takes it: hard evidence by state name, and likelihoods."""
    hard = {v: model.states(v)[int(s[r])] for v, s in sub_states.items() if s[r] >= 0}
    lams = {v: lam[r] for v, lam in sub_soft.items() if not np.isnan(lam[r, 0])}
    return hard, lams


def test_outer_posteriors_and_no_condition_present_match_pgmpy(model, program, rows):
    """The age and the residual causes (enumerated outside the conditions) and P(no condition present | e)."""
    network = model.to_pgmpy()
    picked = [0, 1, 2, 3]
    sub_states, sub_soft = _some_rows(rows, picked)
    outer = [v for v in program.outer]
    marginals, _, done, none = program.marginals_and_none(sub_states, sub_soft, len(picked), outer)
    assert done.all()
    for r in range(len(picked)):
        hard, lams = _row_evidence(model, sub_states, sub_soft, r)
        wanted = [v for v in outer if v not in hard and v not in lams]
        expected = pgmpy_query(model, wanted, hard, lams, network=network)
        for v in wanted:
            np.testing.assert_allclose(marginals[v][r], expected[v], rtol=0, atol=1e-12, err_msg=f"row {r}: {v}")
        # P(all conditions absent | e) by the chain rule, one pgmpy query per condition
        chain, given = 1.0, dict(hard)
        for c in model.conditions:
            step = pgmpy_query(model, [c], given, lams, network=network)[c]
            chain *= step[model.states(c).index("absent")]
            given[c] = "absent"
        assert math.isclose(none[r], chain, rel_tol=1e-10, abs_tol=1e-13), r


def test_diagnose_reads_no_listed_condition_from_its_one_run(model):
    """The figure diagnose shows equals P(e, all absent) / P(e) computed by two contractions, on every vignette."""
    for case in load_public_vignettes():
        shown = model.diagnose(case.evidence, age=case.age_years)
        ev = shown.evidence
        arrays, log_pe = posterior_arrays(model, model.conditions + model.residual_conditions, ev, engine="pgmpy")
        reference, residual = _no_listed_condition(model, ev, log_pe, arrays)
        assert math.isclose(shown.no_listed_condition, reference, rel_tol=0, abs_tol=1e-12), case.id
        np.testing.assert_allclose(shown.residual.to_numpy(), residual.to_numpy(), rtol=0, atol=1e-12)


def test_a_cohort_asking_for_the_outer_variables_gets_them_from_the_one_program(model, rows):
    """``run_rows`` with the residual causes and the age as queries: the kernel's outer masses, against pgmpy."""
    no_age = int(np.flatnonzero(rows[0]["age"] < 0)[0])  # a row whose age posterior is not its evidence
    picked = [no_age, 5, 6]
    sub_states, sub_soft = _some_rows(rows, picked)
    queries = [*model.residual_conditions, "age", "oms"]
    result = model.engine.run_rows(sub_states, sub_soft, queries)
    network = model.to_pgmpy()
    for r in range(len(picked)):
        hard, lams = _row_evidence(model, sub_states, sub_soft, r)
        wanted = [q for q in queries if q not in hard and q not in lams]
        expected = pgmpy_query(model, wanted, hard, lams, network=network)
        for q in wanted:
            np.testing.assert_allclose(result.marginals[q][r], expected[q], rtol=0, atol=1e-12, err_msg=f"row {r}: {q}")
