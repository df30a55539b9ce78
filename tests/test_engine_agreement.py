"""The compiled engine against independent oracles.

* pgmpy's VariableElimination (``pgmpy_query``) on random evidence (random
  subsets of variables, random states, random ages, soft evidence) on the tiny
  and the default model, and on every public vignette, to 1e-12;
* brute-force enumeration of the full joint table of the tiny model;
* the chain rule with pgmpy posteriors for ``log P(e)`` on the default model;
* finite differences of ``P(e)`` for the derivatives (``gradients=True``).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import omsbayes
from omsbayes.engine import CompiledEngine
from omsbayes.engine import compiled as compiled_module
from omsbayes.engine.pgmpy_adapter import pgmpy_query
from omsbayes.tables import build_tables
from omsbayes.uncertainty_draws import draw_parameters

TOL = 1e-12
FAST = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def networks(model, tiny):
    """Each model's pgmpy network (built once)."""
    return {"tiny": tiny.to_pgmpy(), "default": model.to_pgmpy()}


@pytest.fixture(params=["universal", "joint", "contraction"])
def models(request, model, tiny, networks, monkeypatch):
    """Each model with its pgmpy network; the engine with its universal program, enumerating each pattern's joint, or contracting."""
    if request.param in ("joint", "contraction"):
        for m in (model, tiny):
            monkeypatch.setattr(m.engine, "universal_limit", 0)
    if request.param == "contraction":
        for m in (model, tiny):
            monkeypatch.setattr(m.engine, "joint_limit", 0)
    return {"tiny": (tiny, networks["tiny"]), "default": (model, networks["default"])}


@st.composite
def evidence_cases(draw, model, soft_allowed=True, max_observed=12):
    """Random evidence: a subset of variables in random states, some soft, and maybe an age in years."""
    names = [v for v in model.variables if v != "age"]
    chosen = draw(st.lists(st.sampled_from(names), unique=True, max_size=min(max_observed, len(names))))
    evidence = {}
    for var in chosen:
        states = model.states(var)
        if soft_allowed and draw(st.booleans()) and draw(st.booleans()):
            weight = st.one_of(st.just(0.0), st.floats(0.01, 20.0))
            weights = draw(st.lists(weight, min_size=len(states), max_size=len(states)).filter(any))
            evidence[var] = dict(zip(states, weights))
        else:
            evidence[var] = draw(st.sampled_from(states))
    age = draw(st.one_of(st.none(), st.floats(0.0, 120.0, allow_nan=False)))
    return evidence, age


def _assume_possible(result):
    assume(np.isfinite(result.log_evidence[0]))


def _queries_for(model, ev, extra):
    plain = [v for v in model.variables if v not in ev.hard and v not in ev.soft]
    conditions = [c for c in model.conditions if c in plain]
    return list(dict.fromkeys(conditions + [v for v in extra if v in plain]))


# ---------------------------------------------------------------------------
# random evidence against pgmpy
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("which", ["tiny", "default"])
@FAST
@given(data=st.data())
def test_random_evidence_matches_pgmpy(models, which, data):
    model, network = models[which]
    evidence, age = data.draw(evidence_cases(model))
    extra = data.draw(st.lists(st.sampled_from(model.variables), max_size=3))
    ev = model.normalize(evidence, age)
    queries = _queries_for(model, ev, extra)
    assume(queries)
    result = model.engine.run(ev.likelihoods(model.state_map), queries)
    _assume_possible(result)
    expected = pgmpy_query(model, queries, ev.hard, ev.soft, network=network)
    for q in queries:
        np.testing.assert_allclose(result.marginals[q][0], expected[q], rtol=0, atol=TOL, err_msg=q)


@FAST
@given(data=st.data())
def test_tiny_model_matches_brute_force_joint(models, data):
    """Posteriors and log P(e) against the full joint table (every configuration enumerated)."""
    model, _ = models["tiny"]
    evidence, age = data.draw(evidence_cases(model))
    ev = model.normalize(evidence, age)
    queries = _queries_for(model, ev, model.variables)
    result = model.engine.run(ev.likelihoods(model.state_map), queries)
    joint = _joint_table(model)
    weighted = joint.copy()
    for var, lam in ev.likelihoods(model.state_map).items():
        axis = model.variables.index(var)
        shape = [1] * joint.ndim
        shape[axis] = len(lam)
        weighted = weighted * np.asarray(lam).reshape(shape)
    p_e = weighted.sum()
    if p_e == 0:
        assert result.log_evidence[0] == -np.inf
        return
    assert math.isclose(result.log_evidence[0], math.log(p_e), rel_tol=0, abs_tol=1e-12)
    for q in queries:
        axis = model.variables.index(q)
        expected = weighted.sum(axis=tuple(a for a in range(joint.ndim) if a != axis)) / p_e
        np.testing.assert_allclose(result.marginals[q][0], expected, rtol=0, atol=TOL, err_msg=q)


def _joint_table(model) -> np.ndarray:
    """P(all variables) as one array over the variables in model order."""
    letters = {v: chr(ord("a") + i) for i, v in enumerate(model.variables)}
    operands, subscripts = [], []
    for v in model.variables:
        operands.append(model.tables[v])
        subscripts.append("".join(letters[a] for a in (v, *model.parents(v))))
    return np.einsum(",".join(subscripts) + "->" + "".join(letters[v] for v in model.variables), *operands)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_default_model_log_evidence_by_chain_rule(models, data):
    """log P(e1..en) = sum_i log P(e_i | e_1..e_{i-1}), each factor from a pgmpy posterior."""
    model, network = models["default"]
    evidence, age = data.draw(evidence_cases(model, max_observed=6))
    ev = model.normalize(evidence, age)
    result = model.engine.run(ev.likelihoods(model.state_map), [])
    _assume_possible(result)
    total, hard, soft = 0.0, {}, {}
    for var, lam in ev.likelihoods(model.state_map).items():
        before = pgmpy_query(model, [var], hard, soft, network=network)[var]
        total += math.log(float(before @ lam))
        if var in ev.hard:
            hard[var] = ev.hard[var]
        else:
            soft[var] = ev.soft[var]
    assert math.isclose(result.log_evidence[0], total, rel_tol=0, abs_tol=1e-10)


# ---------------------------------------------------------------------------
# public vignettes
# ---------------------------------------------------------------------------
def test_every_public_vignette_matches_pgmpy(models, vignettes):
    model, network = models["default"]
    assert len(vignettes) > 0
    for case in vignettes:
        ev = model.normalize(case.evidence, case.age_years)
        queries = [c for c in model.conditions if c not in ev.hard]
        result = model.engine.run(ev.likelihoods(model.state_map), queries)
        expected = pgmpy_query(model, queries, ev.hard, ev.soft, network=network)
        for q in queries:
            np.testing.assert_allclose(result.marginals[q][0], expected[q], rtol=0, atol=TOL, err_msg=f"{case.id}: {q}")
        dx = model.diagnose(case.evidence, age=case.age_years)
        for q in queries:
            assert abs(dx.posterior[q] - expected[q][1]) <= TOL


# ---------------------------------------------------------------------------
# batches, scaled likelihoods, impossible evidence, rescaling
# ---------------------------------------------------------------------------
def test_batch_of_different_rows_equals_rows_one_at_a_time(models):
    model, _ = models["default"]
    rng = np.random.default_rng(3)
    observed = ["age", "opsoclonus", "ataxia", "fever", "mri_white_matter_lesions", "onset"]
    queries = [c for c in model.conditions]
    rows = 40
    states = {v: rng.integers(0, len(model.states(v)), rows) for v in observed}
    batch = model.engine.run({v: np.eye(len(model.states(v)))[s] for v, s in states.items()}, queries)
    for r in range(rows):
        single = model.engine.run({v: np.eye(len(model.states(v)))[s[r]] for v, s in states.items()}, queries)
        assert batch.log_evidence[r] == pytest.approx(single.log_evidence[0], abs=1e-12)
        for q in queries:
            np.testing.assert_allclose(batch.marginals[q][r], single.marginals[q][0], rtol=0, atol=TOL)


def test_scaled_one_hot_likelihood_moves_only_log_evidence(models):
    model, _ = models["default"]
    base = model.engine.run({"opsoclonus": np.array([0.0, 1.0]), "age": np.eye(6)[1]}, ["oms"])
    scaled = model.engine.run({"opsoclonus": np.array([0.0, 0.25]), "age": np.eye(6)[1]}, ["oms"])
    np.testing.assert_allclose(scaled.marginals["oms"], base.marginals["oms"], rtol=0, atol=TOL)
    assert scaled.log_evidence[0] == pytest.approx(base.log_evidence[0] + math.log(0.25), abs=1e-12)


def test_all_zero_likelihood_is_impossible_evidence(models):
    model, _ = models["tiny"]
    result = model.engine.run({"opsoclonus": np.array([[0.0, 0.0], [0.3, 0.6]])}, ["oms"])
    assert result.log_evidence[0] == -np.inf
    np.testing.assert_array_equal(result.marginals["oms"][0], [0.0, 0.0])
    assert np.isfinite(result.log_evidence[1])


def test_rescaled_path_gives_the_same_answers(models, monkeypatch):
    """Forcing every row through per-step rescaling changes nothing but the arithmetic route."""
    model, network = models["default"]
    case = omsbayes.load_public_vignettes()[0]
    ev = model.normalize(case.evidence, case.age_years)
    likelihoods = ev.likelihoods(model.state_map)
    queries = [c for c in model.conditions if c not in ev.hard]
    plain = CompiledEngine(model).run(likelihoods, queries, gradients=True)
    monkeypatch.setattr(compiled_module, "_LOG_FLOOR", math.inf)  # every row is "at risk"
    monkeypatch.setattr(compiled_module, "_TINY", 2.0)  # and every intermediate gets rescaled
    rescued = CompiledEngine(model).run(likelihoods, queries, gradients=True)
    assert rescued.log_evidence[0] == pytest.approx(plain.log_evidence[0], abs=1e-12)
    expected = pgmpy_query(model, queries, ev.hard, network=network)
    for q in queries:
        np.testing.assert_allclose(rescued.marginals[q][0], expected[q], rtol=0, atol=TOL)
    for v, g in plain.gradients.items():
        np.testing.assert_allclose(rescued.gradients[v], g, rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------------------
# derivatives against finite differences
# ---------------------------------------------------------------------------
def _finite_difference_check(model, likelihoods, entries, step=1e-4):
    """d P(e) / d theta from the engine against central differences, for (variable, flat index) entries.

    P(e) is linear in each single table entry, so the difference quotient is
    exact up to rounding. The step down stops at zero: an entry pushed below
    zero would make P(e) negative, which no table can give.
    """
    result = model.engine.run(likelihoods, [], gradients=True)
    p_e = math.exp(result.log_evidence[0])
    rows = 2 * len(entries)
    tables = {v: np.repeat(t[None], rows, axis=0) for v, t in model.tables.items()}
    widths = []
    for i, (var, flat) in enumerate(entries):
        down = min(step, float(model.tables[var].reshape(-1)[flat]))
        tables[var].reshape(rows, -1)[2 * i, flat] += step
        tables[var].reshape(rows, -1)[2 * i + 1, flat] -= down
        widths.append(step + down)
    shifted = model.engine.run(likelihoods, [], tables=tables)
    p = np.exp(shifted.log_evidence)
    for i, (var, flat) in enumerate(entries):
        numeric = (p[2 * i] - p[2 * i + 1]) / widths[i]
        analytic = result.gradients.get(var, np.zeros((1,) + model.tables[var].shape))[0].reshape(-1)[flat] * p_e
        assert analytic == pytest.approx(numeric, rel=1e-7, abs=1e-9 * p_e), (var, flat)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_gradients_match_finite_differences_on_every_tiny_table_entry(models, data):
    model, _ = models["tiny"]
    evidence, age = data.draw(evidence_cases(model))
    ev = model.normalize(evidence, age)
    likelihoods = ev.likelihoods(model.state_map)
    assume(likelihoods)
    assume(np.isfinite(model.engine.run(likelihoods, []).log_evidence[0]))
    entries = [(v, i) for v in model.variables for i in range(model.tables[v].size)]
    _finite_difference_check(model, likelihoods, entries)


def test_gradients_match_finite_differences_on_the_default_model(models):
    model, _ = models["default"]
    rng = np.random.default_rng(11)
    case = omsbayes.load_public_vignettes()[2]
    ev = model.normalize({**case.evidence, "fever": 0.3}, case.age_years)
    likelihoods = ev.likelihoods(model.state_map)
    variables = sorted(model.engine.network.ancestors(likelihoods))
    entries = []
    for v in rng.choice(variables, size=25):
        entries.append((str(v), int(rng.integers(model.tables[v].size))))
    _finite_difference_check(model, likelihoods, entries)


def test_gradients_of_variables_outside_the_pruned_network_are_left_out(models):
    model, _ = models["tiny"]
    result = model.engine.run({"opsoclonus": np.array([0.0, 1.0])}, [], gradients=True)
    assert "urine_catecholamines" not in result.gradients  # barren: no influence on P(e)
    assert result.gradients["oms"].shape == (1,) + model.tables["oms"].shape


# ---------------------------------------------------------------------------
# batched tables (parameter draws)
# ---------------------------------------------------------------------------
def test_batched_tables_equal_one_model_per_draw(models):
    model, _ = models["default"]
    draws = draw_parameters(model, 4, rng=5)
    tables = build_tables(model.spec, draws, model.references)
    case = omsbayes.load_public_vignettes()[1]
    ev = model.normalize(case.evidence, case.age_years)
    queries = [c for c in model.conditions if c not in ev.hard]
    batched = model.engine.run(ev.likelihoods(model.state_map), queries, tables=tables)
    for d in range(4):
        one = {v: t[d : d + 1] for v, t in tables.items()}
        single = model.engine.run(ev.likelihoods(model.state_map), queries, tables=one)
        for q in queries:
            np.testing.assert_allclose(batched.marginals[q][d], single.marginals[q][0], rtol=0, atol=TOL)
    # the first draw through pgmpy: a model whose tables are that draw's
    drawn = model.with_parameters({k: float(v[0]) for k, v in draws.items()})
    expected = pgmpy_query(drawn, queries, ev.hard)
    for q in queries:
        np.testing.assert_allclose(batched.marginals[q][0], expected[q], rtol=0, atol=TOL)


# ---------------------------------------------------------------------------
# tables with zeros: impossible evidence and the enumeration's log(0)
# ---------------------------------------------------------------------------
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_tables_with_zeros_match_brute_force(tiny, data):
    """Structural zeros: posteriors, log P(e) and P(e) = 0 agree with enumeration on both engine paths."""
    zeroed = tiny.with_parameters({"aca.opsoclonus": 0.0, "opsoclonus.leak": 0.0, "oms.ataxia": 1.0})
    assert (zeroed.tables["opsoclonus"] == 0).any() and (zeroed.tables["ataxia"] == 0).any()
    evidence, age = data.draw(evidence_cases(zeroed))
    ev = zeroed.normalize(evidence, age)
    likelihoods = ev.likelihoods(zeroed.state_map)
    queries = _queries_for(zeroed, ev, zeroed.variables)
    weighted = _joint_table(zeroed)
    for var, lam in likelihoods.items():
        shape = [1] * weighted.ndim
        shape[zeroed.variables.index(var)] = len(lam)
        weighted = weighted * np.asarray(lam).reshape(shape)
    p_e = weighted.sum()
    for limit in (8192, 0):
        zeroed.engine.joint_limit = limit
        result = zeroed.engine.run(likelihoods, queries)
        if p_e == 0:
            assert result.log_evidence[0] == -np.inf
            for q in queries:
                np.testing.assert_array_equal(result.marginals[q][0], 0.0)
            continue
        assert math.isclose(result.log_evidence[0], math.log(p_e), rel_tol=0, abs_tol=1e-12)
        for q in queries:
            axis = zeroed.variables.index(q)
            expected = weighted.sum(axis=tuple(a for a in range(weighted.ndim) if a != axis)) / p_e
            np.testing.assert_allclose(result.marginals[q][0], expected, rtol=0, atol=TOL, err_msg=q)


def test_the_default_model_enumerates_its_patterns(model):
    """Diagnosis patterns of the default model leave few enough unobserved variables to enumerate."""
    from omsbayes.engine.joint import build_joint

    hard = ("age", "ataxia", "opsoclonus")
    size = 2 ** (len(model.conditions) + len(model.residual_conditions))  # the residual causes are in the joint too
    program = build_joint(model.engine.network, model.tables, hard, (), tuple(model.conditions), size)
    assert program is not None and program.size == size
    assert "recent_infection" not in program.unobserved  # summed out at compile time
    assert build_joint(model.engine.network, model.tables, hard, (), tuple(model.conditions), size // 2) is None


def test_rows_the_products_cannot_trust_go_through_the_logs(model, networks, vignettes, monkeypatch):
    """Every row forced from the product route to the log-space route still matches pgmpy."""
    from omsbayes.engine import joint as joint_module

    monkeypatch.setattr(joint_module, "_PRODUCT_FLOOR", np.inf)
    engine = CompiledEngine(model)
    for case in list(vignettes)[:4]:
        ev = model.normalize(case.evidence, case.age_years)
        queries = [c for c in model.conditions if c not in ev.hard]
        result = engine.run(ev.likelihoods(model.state_map), queries)
        expected = pgmpy_query(model, queries, ev.hard, network=networks["default"])
        for q in queries:
            np.testing.assert_allclose(result.marginals[q][0], expected[q], rtol=0, atol=TOL)


def test_batched_tables_with_evidence_varying_by_row(model):
    """Row r: draw r's tables and case r's evidence; equal to running each row alone."""
    rows = 5
    draws = draw_parameters(model, rows, rng=21)
    tables = build_tables(model.spec, draws, model.references)
    rng = np.random.default_rng(4)
    observed = ["age", "opsoclonus", "ataxia", "onset"]
    states = {v: rng.integers(0, len(model.states(v)), rows) for v in observed}
    likelihoods = {v: np.eye(len(model.states(v)))[s] for v, s in states.items()}
    queries = model.conditions
    batched = model.engine.run(likelihoods, queries, tables=tables, gradients=True)
    for r in range(rows):
        single = model.engine.run(
            {v: lam[r] for v, lam in likelihoods.items()}, queries, tables={v: t[r : r + 1] for v, t in tables.items()}, gradients=True
        )
        assert batched.log_evidence[r] == pytest.approx(single.log_evidence[0], abs=1e-12)
        for q in queries:
            np.testing.assert_allclose(batched.marginals[q][r], single.marginals[q][0], rtol=0, atol=TOL)
        for v, g in single.gradients.items():
            np.testing.assert_allclose(batched.gradients[v][r], g[0], rtol=1e-10, atol=1e-12)
