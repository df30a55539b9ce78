"""Bootstrap intervals of the evaluation metrics and the paired comparison of two evaluations."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from omsbayes import CaseFileError, EvidenceError
from omsbayes.evaluation import Evaluation, compare_evaluations


def _evaluation(hit1, brier, ids=None) -> Evaluation:
    """An Evaluation with the given per-case values (rank 1 for a hit, else 2)."""
    hit1 = np.asarray(hit1, dtype=bool)
    ids = ids or [f"case-{i}" for i in range(len(hit1))]
    cases = pd.DataFrame(
        {"hit1": hit1, "hit3": True, "rank": np.where(hit1, 1, 2), "brier": brier, "log_loss": np.asarray(brier) * 3},
        index=pd.Index(ids, name="case"),
    )
    return Evaluation(cases, pd.DataFrame(), pd.Series(dtype=float), pd.DataFrame(), pd.DataFrame(), provenance=None)


@pytest.fixture(scope="module")
def evaluation_public(model, vignettes):
    from omsbayes.evaluation import evaluate

    return evaluate(model, vignettes)


def test_interval_spread_is_the_exact_bootstrap_standard_error():
    # the bootstrap distribution of a mean of n values has variance (population variance) / n exactly
    values = np.array([0.0, 0.1, 0.4, 0.05, 0.3])
    result = _evaluation([1, 0, 1, 1, 0], values).intervals(draws=40000, seed=3)
    assert result.loc["brier", "se"] == pytest.approx(values.std() / math.sqrt(len(values)), rel=0.02)
    p = 0.6
    assert result.loc["top1", "se"] == pytest.approx(math.sqrt(p * (1 - p) / 5), rel=0.02)
    assert result.loc["top1", "value"] == p and result.loc["mrr", "value"] == pytest.approx((3 + 0.5 * 2) / 5)
    # percentile interval of a mean of five 0/1 values: its ends are multiples of 1/5
    assert result.loc["top1", "low"] == pytest.approx(0.2) and result.loc["top1", "high"] == pytest.approx(1.0)


def test_public_cases_top1_interval_matches_the_binomial_standard_error(evaluation_public):
    result = evaluation_public.intervals(draws=4000, seed=0)
    p, n = evaluation_public.summary["top1"], len(evaluation_public.cases)
    assert result.loc["top1", "se"] == pytest.approx(math.sqrt(p * (1 - p) / n), rel=0.06)
    for metric, row in result.iterrows():
        assert row["low"] <= evaluation_public.summary[metric] <= row["high"], metric
        assert row["value"] == pytest.approx(evaluation_public.summary[metric], rel=1e-12)


def test_intervals_are_reproducible_from_a_seed_or_generator():
    ev = _evaluation([1, 0, 1, 0, 0, 1, 1], np.linspace(0, 0.3, 7))
    a = ev.intervals(draws=300, seed=11)
    pd.testing.assert_frame_equal(a, ev.intervals(draws=300, seed=np.random.default_rng(11)))
    assert not a.equals(ev.intervals(draws=300, seed=12))


def test_paired_difference_of_one_improved_case_is_exact():
    n = 20
    before = _evaluation([1] * 10 + [0] * 10, np.full(n, 0.05))
    fixed = [1] * 10 + [1] + [0] * 9
    after = _evaluation(fixed, np.full(n, 0.05))
    result = compare_evaluations(before, after, draws=40000, seed=5)
    assert result.loc["top1", "difference"] == pytest.approx(1 / n)
    # after is better exactly in the resamples that include the improved case
    assert result.loc["top1", "p_better"] == pytest.approx(1 - (1 - 1 / n) ** n, abs=0.01)
    assert result.loc["top1", "low"] == 0.0
    # an unchanged metric: difference 0 with a degenerate interval and never better
    assert result.loc["brier", ["difference", "low", "high", "p_better"]].tolist() == [0.0, 0.0, 0.0, 0.0]
    # lower is better for the Brier score
    worse = _evaluation(fixed, np.full(n, 0.06))
    assert compare_evaluations(worse, before, draws=200, seed=0).loc["brier", "p_better"] == 1.0


def test_compare_pairs_cases_by_id_not_by_position():
    before = _evaluation([1, 0, 0], [0.1, 0.2, 0.3], ids=["a", "b", "c"])
    after = _evaluation([0, 0, 1], [0.3, 0.2, 0.1], ids=["c", "b", "a"])  # the same results, reordered
    result = compare_evaluations(before, after, draws=100, seed=0)
    assert (result["difference"] == 0).all() and (result["n"] == 3).all()
    with pytest.raises(CaseFileError, match="share no case id"):
        compare_evaluations(before, _evaluation([1], [0.1], ids=["z"]))


@pytest.mark.parametrize(
    "options, message",
    [
        ({"draws": 0}, r"'draws' parameter of Evaluation.intervals must be an integer >= 1"),
        ({"level": 1.0}, r"'level' parameter of Evaluation.intervals must be a number strictly between 0 and 1"),
        ({"seed": -1}, r"'rng' parameter of Evaluation.intervals must be a seed"),
    ],
)
def test_bad_resampling_options_are_named(options, message):
    with pytest.raises(EvidenceError, match=message):
        _evaluation([1, 0], [0.1, 0.2]).intervals(**options)
    with pytest.raises(ValueError):  # EvidenceError is a ValueError
        compare_evaluations(_evaluation([1], [0.1]), _evaluation([1], [0.1]), **options)


def test_cli_prints_and_exports_the_intervals():
    run = lambda *extra: subprocess.run(  # noqa: E731
        [sys.executable, "-m", "omsbayes", "evaluate", "--intervals", "--draws", "300", "--seed", "2", *extra],
        capture_output=True, text=True, check=True,
    ).stdout
    text = run()
    assert "95% bootstrap intervals (300 resamples of the" in text and "top1" in text.split("bootstrap intervals")[1]
    data = json.loads(run("--json"))
    top1 = data["intervals"]["top1"]
    assert top1["low"] <= data["summary"]["top1"] <= top1["high"]
    assert data["intervals_settings"] == {"draws": 300, "seed": 2, "level": 0.95}
