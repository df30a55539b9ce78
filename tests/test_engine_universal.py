"""The universal program: one enumeration for rows that each observe their own variables, against pgmpy.

Every row of a random cohort draws its own subset of observed variables (any
role: findings, tests, histories, the age, conditions), each hard or through a
likelihood; the whole cohort is one call of ``engine.run_rows`` and every row
must match pgmpy's VariableElimination on that row alone to 1e-12.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from omsbayes.engine import CompiledEngine
from omsbayes.engine.pgmpy_adapter import pgmpy_query
from omsbayes.engine.universal import build_universal

TOL = 1e-12
COHORTS = settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def networks(model, tiny):
    return {"tiny": (tiny, tiny.to_pgmpy()), "default": (model, model.to_pgmpy())}


@st.composite
def mixed_cohorts(draw, model, rows_max=6):
    """Rows of ``(states, likelihoods)``: each its own observed variables, some soft."""
    names = list(model.variables)
    rows = []
    for _ in range(draw(st.integers(1, rows_max))):
        chosen = draw(st.lists(st.sampled_from(names), unique=True, max_size=14))
        hard, soft = {}, {}
        for var in chosen:
            k = len(model.states(var))
            if draw(st.integers(0, 3)) == 0:
                weights = draw(st.lists(st.one_of(st.just(0.0), st.floats(0.01, 20.0)), min_size=k, max_size=k).filter(any))
                soft[var] = np.array(weights)
            else:
                hard[var] = draw(st.integers(0, k - 1))
        rows.append((hard, soft))
    return rows


def _as_columns(model, rows):
    states = {v: np.full(len(rows), -1) for v in model.variables}
    likelihoods = {v: np.full((len(rows), len(model.states(v))), np.nan) for v in model.variables}
    for r, (hard, soft) in enumerate(rows):
        for v, s in hard.items():
            states[v][r] = s
        for v, lam in soft.items():
            likelihoods[v][r] = lam
    return states, likelihoods


def _pgmpy_row(model, network, hard, soft, queries):
    named = {v: model.states(v)[s] for v, s in hard.items()}
    plain = [q for q in queries if q not in hard and q not in soft]
    out = pgmpy_query(model, plain, named, soft, network=network) if plain else {}
    for q in queries:
        if q in soft:  # a soft-observed query: its prior from the other evidence, times its likelihood
            others = {k: lam for k, lam in soft.items() if k != q}
            prior = pgmpy_query(model, [q], named, others, network=network)[q]
            out[q] = prior * soft[q] / (prior @ soft[q])
    return out


@pytest.mark.parametrize("which", ["tiny", "default"])
@COHORTS
@given(data=st.data())
def test_mixed_pattern_cohort_matches_pgmpy_row_by_row(networks, which, data):
    model, network = networks[which]
    rows = data.draw(mixed_cohorts(model))
    states, likelihoods = _as_columns(model, rows)
    result = model.engine.run_rows(states, likelihoods)
    for r, (hard, soft) in enumerate(rows):
        log_pe = model.engine.run({**{v: np.eye(len(model.states(v)))[s] for v, s in hard.items()}, **soft}, []).log_evidence[0]
        if not np.isfinite(log_pe):
            assert result.log_evidence[r] == -np.inf
            continue
        assert math.isclose(result.log_evidence[r], log_pe, rel_tol=0, abs_tol=1e-10)
        expected = _pgmpy_row(model, network, hard, soft, model.conditions)
        for c in model.conditions:
            got = result.marginals[c][r]
            if c in hard:
                np.testing.assert_array_equal(got, np.eye(2)[hard[c]])
            else:
                np.testing.assert_allclose(got, expected[c], rtol=0, atol=TOL, err_msg=f"row {r}: {c}")


def test_rows_left_to_the_contraction_give_the_same_answers(model, networks, monkeypatch):
    """Rows whose P(e) is under the program's floor are recomputed by contraction: force every row there."""
    from omsbayes.engine import universal as universal_module

    rng = np.random.default_rng(8)
    rows = [({v: int(rng.integers(len(model.states(v)))) for v in rng.choice(model.findings, 6, replace=False)}, {}) for _ in range(5)]
    states, likelihoods = _as_columns(model, rows)
    plain = CompiledEngine(model).run_rows(states, likelihoods)
    monkeypatch.setattr(universal_module, "_Z_FLOOR", np.inf)
    forced = CompiledEngine(model).run_rows(states, likelihoods)
    for c in model.conditions:
        np.testing.assert_allclose(forced.marginals[c], plain.marginals[c], rtol=0, atol=TOL)
    np.testing.assert_allclose(forced.log_evidence, plain.log_evidence, rtol=0, atol=1e-10)


def test_the_program_is_read_from_the_structure(model, tiny):
    """Leaves, outer and summed-out variables follow the graph, whatever the model."""
    for m in (model, tiny):
        program = build_universal(m.engine.network, m.tables, m.conditions, 2**30)
        children = {p for v in m.variables for p in m.parents(v)}
        assert set(program.leaves) == {v for v in m.variables if v not in children and v not in m.conditions}
        assert set(program.outer) == {p for v in program.leaves for p in m.parents(v)} - set(m.conditions)
        assert set(program.upstream) | set(program.outer) | set(program.leaves) | set(m.conditions) == set(m.variables)
        assert program.size == math.prod(len(m.states(v)) for v in program.outer) * 2 ** len(m.conditions)
        assert build_universal(m.engine.network, m.tables, m.conditions, program.size - 1) is None  # over the limit


def test_a_model_too_large_for_the_program_runs_pattern_by_pattern(tiny, networks, monkeypatch):
    model, network = networks["tiny"]
    rows = [({"opsoclonus": 1, "age": 2}, {}), ({"ataxia": 0}, {"urine_catecholamines": np.array([0.2, 1.0])}), ({}, {})]
    states, likelihoods = _as_columns(model, rows)
    engine = CompiledEngine(model)
    engine.universal_limit = 0
    assert engine.universal() is None and engine.cohort_chunk() is None
    result = engine.run_rows(states, likelihoods)
    for r, (hard, soft) in enumerate(rows):
        expected = _pgmpy_row(model, network, hard, soft, model.conditions)
        for c in model.conditions:
            np.testing.assert_allclose(result.marginals[c][r], expected[c], rtol=0, atol=TOL)


def test_a_row_cannot_give_a_variable_both_a_state_and_a_likelihood(tiny):
    with pytest.raises(ValueError, match="both a state and a likelihood"):
        tiny.engine.run_rows({"opsoclonus": np.array([1])}, {"opsoclonus": np.array([[0.5, 1.0]])})


def test_rows_of_many_priors_run_a_few_priors_at_a_time(model, monkeypatch):
    """Rows whose evidence on the summed-out variables differs need their own priors; a small bound splits the call."""
    from omsbayes.engine import universal as universal_module

    rng = np.random.default_rng(12)
    upstream = build_universal(model.engine.network, model.tables, model.conditions, 2**30).upstream
    rows = []
    for _ in range(12):
        hard = {v: int(rng.integers(-1, 2)) for v in upstream}
        hard = {v: s for v, s in hard.items() if s >= 0}
        hard.update({"ataxia": int(rng.integers(2)), "age": int(rng.integers(6))})
        soft = {upstream[0]: np.array([0.3, 1.0])} if rng.random() < 0.3 and upstream[0] not in hard else {}
        rows.append((hard, soft))
    states, likelihoods = _as_columns(model, rows)
    whole = CompiledEngine(model).run_rows(states, likelihoods)
    monkeypatch.setattr(universal_module, "_PRIOR_CACHE_BYTES", 1)  # one prior per kernel call
    split = CompiledEngine(model).run_rows(states, likelihoods)
    for c in model.conditions:
        np.testing.assert_allclose(split.marginals[c], whole.marginals[c], rtol=0, atol=1e-15)
    np.testing.assert_allclose(split.log_evidence, whole.log_evidence, rtol=0, atol=1e-12)
