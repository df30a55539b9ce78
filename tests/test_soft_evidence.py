"""Two kinds of uncertain evidence: a likelihood (``var=0.7``) and a probability of being present (``var~0.7``).

Oracles: a pure-Python loop over the tiny model's full joint (Jeffrey's rule is
a mixture of two hard-evidence posteriors), and pgmpy's own inference with the
fitted likelihood.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import omsbayes
from omsbayes import Marginal
from omsbayes.cli import build_parser
from omsbayes.cli._common import parse_evidence

from .conftest import TINY_MODEL

_TINY = omsbayes.load_model(TINY_MODEL)


def _enumerate(m, hard: dict[str, str], weights: dict[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """Posterior of every variable by a loop over the joint, with optional likelihood weights."""
    weights = weights or {}
    names = m.variables
    totals = {v: np.zeros(len(m.states(v))) for v in names}
    for config in itertools.product(*[range(len(m.states(v))) for v in names]):
        assign = dict(zip(names, config))
        if any(m.states(v)[assign[v]] != s for v, s in hard.items()):
            continue
        p = 1.0
        for v in names:
            p *= float(m.tables[v][(assign[v],) + tuple(assign[q] for q in m.parents(v))])
        for v, w in weights.items():
            p *= w[assign[v]]
        for v in names:
            totals[v][assign[v]] += p
    return {v: t / t.sum() for v, t in totals.items()}


def test_a_float_is_a_likelihood_ratio_not_a_posterior(tiny):
    # 0.7 multiplies the odds of the finding by 7:3 and does not set its posterior to 0.7
    prior = _enumerate(tiny, {"age": "toddler", "ataxia": "present"})["opsoclonus"]
    post = tiny.query(["opsoclonus"], {"ataxia": "present", "opsoclonus": 0.7}, age=2)["opsoclonus"].to_numpy()
    odds_ratio = (post[1] / post[0]) / (prior[1] / prior[0])
    assert odds_ratio == pytest.approx(7 / 3, rel=1e-10)
    assert abs(post[1] - 0.7) > 0.1


@pytest.mark.parametrize("q", [0.05, 0.3, 0.7, 0.99])
def test_marginal_is_jeffreys_rule_against_enumeration(tiny, q):
    hard = {"age": "toddler", "ataxia": "present"}
    present = _enumerate(tiny, {**hard, "opsoclonus": "present"})
    absent = _enumerate(tiny, {**hard, "opsoclonus": "absent"})
    got = tiny.query(tiny.variables[1:], {"ataxia": "present", "opsoclonus": Marginal(q)}, age=2)
    for v, series in got.items():
        expected = q * present[v] + (1 - q) * absent[v]
        np.testing.assert_allclose(series.to_numpy(), expected, rtol=1e-10, atol=1e-14, err_msg=v)


def test_marginal_holds_in_pgmpy_with_the_fitted_likelihood(tiny):
    ev = {"opsoclonus": Marginal(0.4), "urine_catecholamines": "positive"}
    got = tiny.query(["opsoclonus", "oms", "neuroblastoma"], ev, age=0.5, engine="pgmpy")
    assert got["opsoclonus"]["present"] == pytest.approx(0.4, abs=1e-12)
    mine = tiny.query(["oms", "neuroblastoma"], ev, age=0.5)
    for v in ("oms", "neuroblastoma"):
        np.testing.assert_allclose(got[v].to_numpy(), mine[v].to_numpy(), rtol=1e-9)


@given(
    targets=st.dictionaries(
        st.sampled_from(["opsoclonus", "ataxia", "urine_catecholamines", "recent_infection"]),
        st.floats(0.01, 0.99),
        min_size=1,
        max_size=3,
    ),
    age=st.sampled_from(["infant", "child", "adult"]),
)
def test_several_marginals_all_hold_against_enumeration(targets, age):
    m = _TINY
    ev = m.normalize({"age": age, **{k: Marginal(v) for k, v in targets.items()}})
    got = _enumerate(m, ev.hard, ev.soft)
    for v, q in targets.items():
        assert got[v][1] == pytest.approx(q, abs=1e-9), v


def test_certain_marginal_is_hard_evidence(tiny):
    ev = tiny.normalize({"opsoclonus": Marginal(1.0), "ataxia": Marginal(0)})
    assert ev.hard == {"opsoclonus": "present", "ataxia": "absent"} and not ev.soft


def test_marginal_errors(tiny):
    with pytest.raises(omsbayes.EvidenceError, match="two-state variable; 'onset' has states"):
        tiny.diagnose({"onset": Marginal(0.5)})
    with pytest.raises(omsbayes.EvidenceError, match="must be a number between 0 and 1. Got 1.5"):
        tiny.diagnose({"opsoclonus": Marginal(1.5)})
    with pytest.raises(omsbayes.EvidenceError, match="Unknown variable 'opsoclonis'"):
        tiny.diagnose({"opsoclonis": Marginal(0.5)})
    no_leak = tiny.with_parameters({"opsoclonus.leak": 0.0})
    with pytest.raises(omsbayes.EvidenceError, match="makes 'opsoclonus' certainly 'absent'"):
        no_leak.diagnose({"oms": "absent", "aca": "absent", "opsoclonus": Marginal(0.5)})


def test_cli_parses_both_forms_and_help_names_them():
    ev = parse_evidence(["opsoclonus~0.7", "ataxia=0.7", "mibg_scan=lr:5", "myoclonus=present"])
    assert ev == {
        "opsoclonus": Marginal(0.7),
        "ataxia": 0.7,
        "mibg_scan": omsbayes.Likelihood.ratio(5),
        "myoclonus": "present",
    }
    with pytest.raises(omsbayes.EvidenceError, match="probability that opsoclonus is present"):
        parse_evidence(["opsoclonus~likely"])
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name in ("diagnose", "voi", "sensitivity", "whatif", "uncertainty"):
        text = " ".join(sub.choices[name].format_help().split())
        assert "variable~0.7" in text and "likelihood ratio of 7:3" in text, name
        assert "70% sure" not in text and "%%" not in text, name


def test_report_writes_each_kind_of_evidence_back_as_it_can_be_given(tiny):
    dx = tiny.diagnose({"opsoclonus": Marginal(0.7), "ataxia": 0.8, "urine_catecholamines": "negative"}, age=2)
    header = dx.report().splitlines()[1]
    lr = dx.evidence.soft["opsoclonus"][1] / dx.evidence.soft["opsoclonus"][0]
    assert header == (
        f"Evidence: urine_catecholamines=negative, ataxia=lr:4, opsoclonus~0.7 (likelihood ratio {lr:.3g})"
    )
    # and what it says can be given again: the same posteriors
    again = tiny.diagnose({"opsoclonus": Marginal(0.7), "ataxia": omsbayes.Likelihood.ratio(4),
                           "urine_catecholamines": "negative"}, age=2)
    np.testing.assert_allclose(again.posterior, dx.posterior, rtol=1e-12)
    assert dx.evidence.items()[-1] == ("opsoclonus", f"P(present) 0.7, fitted likelihood ratio {lr:.3g}")
