"""Fuzz tests (issue 10): random input to the API and random corruptions of a model file.

Every outcome must be a valid result or an :class:`~omsbayes.errors.OmsBayesError`
with a one-line message; never another exception type, never NaN in a
posterior. The default hypothesis profile (tests/conftest.py) keeps this to a
few seconds; ``HYPOTHESIS_PROFILE=thorough`` runs ten times more examples.
"""

from __future__ import annotations

import math
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import omsbayes
from omsbayes.errors import OmsBayesError
from omsbayes.evidence import Likelihood

from .conftest import TINY_MODEL

_TINY = omsbayes.load_model(TINY_MODEL)
_VARIABLES = _TINY.variables
_STATES = sorted({s for v in _VARIABLES for s in _TINY.states(v)})

_numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(0, 1),
    st.integers(-3, 3),
    st.sampled_from([np.float32("nan"), np.float16(0.5), np.int64(1), np.bool_(True), 1e-300, 1 - 1e-16]),
)
_odd = st.sampled_from([None, pd.NA, pd.NaT, "", " ", "nan", "NA", True, False, [], {}, (), object(), b"present"])
_values = st.one_of(
    st.sampled_from(_STATES),
    _numbers,
    _odd,
    st.text(max_size=8),
    st.dictionaries(st.sampled_from(_STATES + ["x"]), _numbers, max_size=3),
    st.builds(Likelihood, lr=_numbers),  # unchecked construction: normalize must check it
    st.builds(Likelihood, weights=st.lists(st.tuples(st.sampled_from(_STATES), _numbers), max_size=3).map(tuple)),
)
_names = st.one_of(st.sampled_from(_VARIABLES), st.sampled_from(_VARIABLES).map(lambda v: v + "s"), st.integers(0, 3), st.none())
_evidence = st.one_of(
    st.dictionaries(_names, _values, max_size=4),
    st.sampled_from([None, [], "opsoclonus=present", 3, pd.Series({"opsoclonus": "present"})]),
)
_ages = st.one_of(st.none(), _numbers, st.sampled_from(["2", "toddler", [], True]))


def _finite_posteriors(frame: pd.DataFrame | pd.Series, column: str | None = None) -> None:
    values = frame if column is None else frame[column]
    values = pd.to_numeric(pd.Series(np.ravel(values)), errors="raise").to_numpy(dtype=float)
    assert np.all(np.isfinite(values)), "NaN or infinity in a result"
    assert np.all((values >= 0) & (values <= 1)), "a posterior outside [0, 1]"


def _outcome(call):
    """Run ``call``; return its result, or None after checking that an error is ours and one line."""
    try:
        return call()
    except OmsBayesError as exc:
        message = str(exc)
        assert message and "\n" not in message, repr(message)
        return None


_ANALYSES = {
    "diagnose": lambda ev, age: _finite_posteriors(_TINY.diagnose(ev, age=age).posterior),
    "posteriors": lambda ev, age: _finite_posteriors(_TINY.posteriors(ev, age=age)),
    "what_if": lambda ev, age: _finite_posteriors(
        _TINY.what_if(ev, {"drop": {"opsoclonus": None}, "weaker": {"oms.opsoclonus": 0.5}}, age=age).table, "posterior"
    ),
    "sweep_age": lambda ev, age: _finite_posteriors(_TINY.sweep_age(ev).table, "posterior"),
    "sweep_parameter": lambda ev, age: _finite_posteriors(
        _TINY.sweep_parameter(ev, "aca.opsoclonus", points=3, age=age).table, "posterior"
    ),
    "evidence_trajectory": lambda ev, age: _finite_posteriors(_TINY.evidence_trajectory(ev, age=age).table, "posterior"),
    "evidence_impact": lambda ev, age: _check_impact(_TINY.evidence_impact(ev, age=age)),
    "value_of_information": lambda ev, age: _check_voi(_TINY.value_of_information(ev, age=age)),
}


def _check_impact(result) -> None:
    _finite_posteriors(result.table, "with")
    _finite_posteriors(result.table, "without")
    assert np.all(np.isfinite(result.summary[["lr", "log10_lr"]].to_numpy(dtype=float)))


def _check_voi(result) -> None:
    assert np.all(np.isfinite(result.table.select_dtypes("number").to_numpy(dtype=float)))


@pytest.mark.parametrize("analysis", sorted(_ANALYSES))
@given(evidence=_evidence, age=_ages)
def test_fuzz_api_gives_a_result_or_an_omsbayes_error(analysis, evidence, age):
    _outcome(lambda: _ANALYSES[analysis](evidence, age))


@given(
    column=st.lists(st.one_of(_values, st.sampled_from(["present", "absent"])), min_size=1, max_size=4),
    ages=st.lists(_ages, min_size=4, max_size=4),
)
def test_fuzz_cohorts_give_a_result_or_an_omsbayes_error(column, ages):
    n = len(column)
    frame = pd.DataFrame({"opsoclonus": pd.Series(column, dtype=object), "age": pd.Series(ages[:n], dtype=object)})
    result = _outcome(lambda: _TINY.diagnose_batch(frame))
    if result is not None:
        _finite_posteriors(result)


# -- model files ----------------------------------------------------------------------------------
_REPLACEMENT_TEXTS = [
    "yes", "no", "on", "off", "null", "~", ".nan", ".inf", "-.inf", "-1", "0", "1e309", "''", "[]", "{}", "[1, 2]",
    "{dist: beta}", "x" * 3000, "&a [*a]", "!!python/object:os.system", "'\\u00e9'", "2000-01-01",
]
_REPLACEMENTS = st.sampled_from(_REPLACEMENT_TEXTS)


@st.composite
def _corruption(draw):
    """(file, new bytes): one random edit of one file of the tiny model."""
    name = draw(st.sampled_from(["model.yaml", "parameters.yaml", "evidence.yaml", "targets.yaml"]))
    data = (TINY_MODEL / name).read_bytes()
    lines = data.split(b"\n")
    i = draw(st.integers(0, len(lines) - 1))
    kind = draw(st.sampled_from(["value", "delete", "duplicate", "bytes", "truncate", "indent"]))
    if kind == "value" and b":" in lines[i]:
        key, _, _ = lines[i].partition(b":")
        lines[i] = key + b": " + draw(_REPLACEMENTS).encode()
    elif kind == "value" and b"[" in lines[i]:
        lines[i] = lines[i].replace(b"[", b"[" + draw(_REPLACEMENTS).encode() + b", ", 1)
    elif kind == "delete":
        del lines[i]
    elif kind == "duplicate":
        lines.insert(i, lines[i])
    elif kind == "bytes":
        lines[i] = lines[i] + draw(st.binary(min_size=1, max_size=4))
    elif kind == "truncate":
        lines = lines[:i]
    elif kind == "indent":
        lines[i] = b"  " + lines[i]
    return name, b"\n".join(lines)


@given(corruption=_corruption())
def test_fuzz_corrupted_model_files_load_or_raise_a_model_file_error(corruption):
    name, data = corruption
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "tiny"
        shutil.copytree(TINY_MODEL, copy)
        (copy / name).write_bytes(data)
        model = _outcome(lambda: omsbayes.load_model(copy))
        if model is None:
            return
        # a model that loads answers queries (or refuses them with our errors), with finite posteriors
        _outcome(lambda: _finite_posteriors(model.diagnose({"opsoclonus": "present"}, age=2.0).posterior))
        assert len(model.content_hash) == 16


def test_fuzz_corruptions_that_must_fail_do_fail(tmp_path):
    """Fixed examples of the corruptions above, each of which must be refused (so the fuzz test cannot pass vacuously)."""
    for name, old, new in [
        ("model.yaml", "states: [negative, positive]", "states: [negative, yes]"),
        ("parameters.yaml", "n: 100}", "n: .inf}"),
        ("evidence.yaml", "estimate: 0.5", "estimate: .nan"),
        ("targets.yaml", "targets:", "targets: {}"),
    ]:
        copy = tmp_path / name.replace(".", "_")
        shutil.copytree(TINY_MODEL, copy)
        text = (copy / name).read_text()
        assert old in text
        (copy / name).write_text(text.replace(old, new, 1))
        with pytest.raises(omsbayes.ModelFileError, match=name.replace(".", r"\.") + r":\d+: "):
            omsbayes.load_model(copy)
    assert {"yes", ".nan", ".inf"} <= set(_REPLACEMENT_TEXTS) and math.isnan(float(np.float32("nan")))
