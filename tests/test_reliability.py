"""Issue 10: defects found by bad input, faults and scale, each reproduced by a test named after its item.

Every test here failed before its fix. Tests run against the tiny model of
tests/data/tiny_model (or properties true for any model), never against the
numbers of the default model.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import omsbayes
from omsbayes.errors import EvidenceError, ModelFileError, OmsBayesError
from omsbayes.uncertainty_draws import ParameterStreams, draw_parameters

from .conftest import TINY_MODEL

_TINY = omsbayes.load_model(TINY_MODEL)
CASE = {"opsoclonus": "present", "ataxia": "present"}


# -- item 2: the point estimate of a changed model lies inside its own interval -----------------
def test_defect_02_point_estimate_inside_its_interval_with_overrides():
    # ten times the neuroblastoma rate: the derived non-tumour OMS rate is calibrated at the file's
    # values and stays there in the point estimate, so it must stay there in the draws too
    changed = _TINY.with_parameters({"nb.rate.paediatric": 0.02})
    result = changed.uncertainty(CASE, age=2.0, draws=400, rng=1, progress=False)
    table = result.table.set_index("condition")
    assert (table["low95"] <= table["point"]).all() and (table["point"] <= table["high95"]).all(), table
    # the derived parameter is drawn around the value the point estimate uses
    drawn = draw_parameters(changed, 4000, rng=2)
    value = changed.values["oms.rate.paediatric"]
    low, high = np.quantile(drawn["oms.rate.paediatric"], [0.025, 0.975])
    assert low < value < high
    np.testing.assert_array_equal(drawn["nb.rate.paediatric"], 0.02)


# -- item 10: many draws run in chunks with the same numbers; too many are refused -------------
def test_defect_10_chunked_draws_equal_draws_taken_at_once():
    streams = ParameterStreams(_TINY, 5)
    parts = [streams.take(n) for n in (1, 7, 32)]
    whole = draw_parameters(_TINY, 40, rng=5)
    for name, values in whole.items():
        np.testing.assert_array_equal(np.concatenate([p[name] for p in parts]), values, err_msg=name)


def test_defect_10_uncertainty_refuses_more_draws_than_fit_in_memory():
    with pytest.raises(EvidenceError, match=r"'draws' parameter of uncertainty must be at most 1,000,000.*GiB"):
        _TINY.uncertainty(CASE, age=2.0, draws=10**7, rng=0, progress=False)


def test_defect_10_uncertainty_progress_counts_draws(monkeypatch):
    import tqdm.auto

    seen = {}
    real = tqdm.auto.tqdm

    def spy(*args, **kwargs):
        bar = real(*args, **kwargs)
        seen["bar"] = bar
        return bar

    monkeypatch.setattr(tqdm.auto, "tqdm", spy)
    monkeypatch.setattr("omsbayes.uncertainty.CHUNK_BYTES", 4096)  # several chunks
    _TINY.uncertainty(CASE, age=2.0, draws=250, rng=0, progress=True)
    assert seen["bar"].total == 250 and seen["bar"].n == 250 and seen["bar"].unit == "draw"


# -- item 15: a Generator continues from its position -------------------------------------------
def test_defect_15_generator_position_is_honoured():
    gen = np.random.default_rng(7)
    first = _TINY.uncertainty(CASE, age=2.0, draws=50, rng=gen, progress=False)
    second = _TINY.uncertainty(CASE, age=2.0, draws=50, rng=gen, progress=False)
    assert not np.array_equal(first.samples.to_numpy(), second.samples.to_numpy())
    again = _TINY.uncertainty(CASE, age=2.0, draws=50, rng=np.random.default_rng(7), progress=False)
    np.testing.assert_array_equal(first.samples.to_numpy(), again.samples.to_numpy())
    # a generator moved on before the call draws differently, and the call moves it on
    moved = np.random.default_rng(7)
    moved.random()
    later = _TINY.uncertainty(CASE, age=2.0, draws=50, rng=moved, progress=False)
    assert not np.array_equal(first.samples.to_numpy(), later.samples.to_numpy())
    untouched, used = np.random.default_rng(3), np.random.default_rng(3)
    draw_parameters(_TINY, 5, used)
    assert untouched.random() != used.random()


@pytest.mark.parametrize("rng", [-1, 1.5, "7", True])
def test_defect_15_bad_seeds_are_refused(rng):
    with pytest.raises(EvidenceError, match=r"The 'rng' parameter of uncertainty must be a seed \(an integer >= 0\)"):
        _TINY.uncertainty(CASE, age=2.0, draws=10, rng=rng, progress=False)


# -- item 3: a change that only feeds formulas is refused, not silently ignored -----------------
def test_defect_03_formula_input_changed_alone_is_refused():
    message = r"Parameter 'oms.nb_fraction' feeds no table, only the formulas of 'oms.rate.paediatric'"
    with pytest.raises(EvidenceError, match=message):
        _TINY.with_parameters({"oms.nb_fraction": 0.2})
    with pytest.raises(EvidenceError, match=message):
        _TINY.what_if(CASE, {"fewer tumours": {"oms.nb_fraction": 0.2}}, age=2.0)
    with pytest.raises(EvidenceError, match=message):
        _TINY.sweep_parameter(CASE, "oms.nb_fraction", values=[0.2, 0.4], age=2.0)
    # set together with what it feeds, it is accepted (a whole parameter vector, e.g. one draw)
    both = _TINY.with_parameters({"oms.nb_fraction": 0.2, "oms.rate.paediatric": 0.001})
    assert both.values["oms.rate.paediatric"] == 0.001
    # a pattern matches only the parameters that feed tables
    sweep = _TINY.sweep_parameter(CASE, "oms.*", factors=[0.5, 1.0], age=2.0)
    assert "oms.nb_fraction" not in sweep.table["parameters"].iloc[0].split(", ")
    with pytest.raises(EvidenceError, match=r"The pattern 'oms.nb_\*' of sweep_parameter matches no parameter that feeds a table"):
        _TINY.sweep_parameter(CASE, "oms.nb_*", factors=[0.5, 1.0], age=2.0)
