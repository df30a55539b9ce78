"""``model.diagnose_batch``: against one case at a time, across patterns, chunks and duplicates; its errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from omsbayes import EvidenceError
from omsbayes.batch import encode_cohort

TOL = 1e-12


def random_cohort(model, rows: int, rng: np.random.Generator, variables=None, p_missing=0.5) -> pd.DataFrame:
    """States drawn uniformly, each cell missing with probability ``p_missing``; ages in years, some missing."""
    variables = variables or [v for v in model.variables if v != "age"]
    data = {}
    ages = rng.uniform(0, 90, rows).round(1)
    data["age"] = np.where(rng.random(rows) < 0.2, np.nan, ages)
    for v in variables:
        states = np.array(model.states(v), dtype=object)
        column = states[rng.integers(0, len(states), rows)]
        column[rng.random(rows) < p_missing] = None
        data[v] = column
    frame = pd.DataFrame(data, index=[f"case-{i}" for i in range(rows)])
    return frame.astype({v: object for v in variables})  # cells may later hold probabilities too


def one_at_a_time(model, frame: pd.DataFrame) -> pd.DataFrame:
    """The oracle: ``model.diagnose`` on each row."""
    out = {}
    for label, row in frame.iterrows():
        evidence = {k: v for k, v in row.items() if k != "age" and not pd.isna(v)}
        age = row.get("age")
        age = None if age is None or pd.isna(age) else float(age)
        out[label] = model.diagnose(evidence, age=age).posterior
    return pd.DataFrame(out).T[model.conditions]


def test_batch_equals_one_case_at_a_time(model):
    frame = random_cohort(model, 25, np.random.default_rng(1), p_missing=0.7)
    frame.loc["case-3", "fever"] = 0.3  # an uncertain observation
    frame.loc["case-4", "oms"] = 0.9  # on a condition: its posterior includes the likelihood
    batch = model.diagnose_batch(frame)
    assert list(batch.index) == list(frame.index)
    assert list(batch.columns) == model.conditions
    expected = one_at_a_time(model, frame)
    np.testing.assert_allclose(batch.to_numpy(), expected.to_numpy(dtype=float), rtol=0, atol=TOL)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), rows=st.integers(1, 12), p_missing=st.floats(0.0, 1.0))
def test_tiny_model_batch_equals_one_case_at_a_time(tiny, seed, rows, p_missing):
    frame = random_cohort(tiny, rows, np.random.default_rng(seed), p_missing=p_missing)
    batch = tiny.diagnose_batch(frame)
    np.testing.assert_allclose(batch.to_numpy(), one_at_a_time(tiny, frame).to_numpy(dtype=float), rtol=0, atol=TOL)


def test_mixed_patterns_equal_their_separate_runs(model):
    rng = np.random.default_rng(7)
    parts = [
        random_cohort(model, 30, rng, ["opsoclonus", "ataxia", "myoclonus"], p_missing=0.0),
        random_cohort(model, 30, rng, ["opsoclonus", "fever", "mri_white_matter_lesions", "onset"], p_missing=0.0),
        random_cohort(model, 30, rng, p_missing=0.0),
    ]
    for i, part in enumerate(parts):
        part.index = [f"{i}-{j}" for j in range(len(part))]
    frame = pd.concat(parts).sample(frac=1.0, random_state=3)  # patterns interleaved
    together = model.diagnose_batch(frame)
    separate = pd.concat([model.diagnose_batch(p.dropna(axis=1, how="all")) for p in parts]).loc[frame.index]
    np.testing.assert_allclose(together.to_numpy(), separate.to_numpy(), rtol=0, atol=TOL)


def test_missing_cells_mean_unobserved(model):
    base = pd.DataFrame({"age": [1.5, 30.0], "opsoclonus": ["present", "absent"]}, index=["x", "y"])
    padded = base.assign(fever=[np.nan, None], ataxia=["", "  "], onset=[pd.NA, np.nan])
    np.testing.assert_array_equal(model.diagnose_batch(padded).to_numpy(), model.diagnose_batch(base).to_numpy())
    no_age = pd.DataFrame({"age": [np.nan], "opsoclonus": ["present"]})
    assert model.diagnose_batch(no_age).iloc[0]["oms"] == pytest.approx(
        model.diagnose({"opsoclonus": "present"}).posterior["oms"], abs=TOL
    )


def test_ages_as_numbers_strings_or_bins(model):
    numeric = pd.DataFrame({"age": [0.5, 2.0, 70.0], "ataxia": ["present"] * 3})
    as_text = pd.DataFrame({"age": ["0.5", "2", "70"], "ataxia": ["present"] * 3})
    as_bins = pd.DataFrame({"age": ["infant", "toddler", "older_adult"], "ataxia": ["present"] * 3})
    expected = model.diagnose_batch(numeric).to_numpy()
    np.testing.assert_array_equal(model.diagnose_batch(as_text).to_numpy(), expected)
    np.testing.assert_array_equal(model.diagnose_batch(as_bins).to_numpy(), expected)
    assert expected[2, 0] == pytest.approx(model.diagnose({"ataxia": "present"}, age=70).posterior["oms"], abs=TOL)


def test_tiny_memory_budget_and_no_dedupe_give_the_same_answers(model):
    frame = random_cohort(model, 60, np.random.default_rng(5), ["opsoclonus", "ataxia", "fever"], p_missing=0.2)
    reference = model.diagnose_batch(frame)
    chunked = model.diagnose_batch(frame, memory_budget=1)  # one row per chunk
    plain = model.diagnose_batch(frame, dedupe=False)
    # equal up to the last bits BLAS may round differently in blocks of other sizes
    np.testing.assert_allclose(chunked.to_numpy(), reference.to_numpy(), rtol=0, atol=1e-14)
    np.testing.assert_allclose(plain.to_numpy(), reference.to_numpy(), rtol=0, atol=1e-14)


def test_chunks_respect_the_memory_budget(model):
    hard, queries = ["age", "opsoclonus", "ataxia"], [c for c in model.conditions]
    per_row = model.engine.bytes_per_row(hard, [], queries)
    for budget in (1, per_row, 10 * per_row + 1, 2**40):
        chunk = model.engine.chunk_size(hard, [], queries, budget=budget)
        assert chunk == max(1, min(model.engine.chunk_rows, budget // per_row))
        assert chunk == 1 or chunk * per_row <= budget


def test_progress_bar_can_be_switched_on_and_off(model, capsys):
    frame = pd.DataFrame({"opsoclonus": ["present", "absent"]})
    model.diagnose_batch(frame, progress=False)
    assert capsys.readouterr().err == ""
    model.diagnose_batch(frame, progress=True)
    assert "diagnose_batch" in capsys.readouterr().err


def test_empty_cohort_gives_an_empty_table(model):
    out = model.diagnose_batch(pd.DataFrame({"opsoclonus": pd.Series([], dtype=object)}))
    assert out.shape == (0, len(model.conditions))


def test_provenance_is_recorded(model):
    out = model.diagnose_batch(pd.DataFrame({"opsoclonus": ["present"]}))
    assert out.attrs["provenance"]["model_hash"] == model.content_hash


def test_encoded_patterns_group_rows_by_what_is_observed(model):
    frame = pd.DataFrame({"opsoclonus": ["present", None, "absent"], "fever": [None, 0.4, None]})
    number, patterns = encode_cohort(model, frame).patterns()
    assert number[0] == number[2] != number[1]
    assert patterns[number[0]] == (("opsoclonus",), ())
    assert patterns[number[1]] == ((), ("fever",))


# ---------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "frame, message",
    [
        (pd.DataFrame({"opsoclonos": ["present"]}), r"Unknown column 'opsoclonos' in the cohort.*Did you mean 'opsoclonus'\?"),
        (
            pd.DataFrame({"opsoclonus": ["present", "presnt"]}, index=["a", "b"]),
            r"Row 'b' of the cohort: variable 'opsoclonus' has no state 'presnt'.*Did you mean 'present'\?",
        ),
        (pd.DataFrame({"age": [2.0, -2.0]}), r"Row 1 of the cohort: the 'age' column must hold a number of years between 0 and 120.*Got -2"),
        (pd.DataFrame({"age": ["2", "old"]}), r"Row 1 of the cohort: the 'age' column .*Got 'old' instead"),
        (pd.DataFrame({"age": [130.0]}), r"Row 0 of the cohort: the 'age' column .*Got 130"),
        (pd.DataFrame({"fever": [0.2, 1.5]}), r"Row 1 of the cohort: the probability given for 'fever' must be between 0 and 1"),
        (pd.DataFrame({"fever": ["present", "1.5"]}), r"Row 1 of the cohort: the probability given for 'fever'.*Got '1.5'"),
        (pd.DataFrame({"onset": ["acute", 0.5]}), r"Row 1 of the cohort: a probability for 'onset' needs a two-state variable"),
        (pd.DataFrame({"onset": [0.5]}), r"Row 0 of the cohort: a probability for 'onset' needs a two-state variable"),
        (pd.DataFrame({"fever": [True]}, dtype=object), r"Row 0 of the cohort: give 'fever' a state name such as 'present'"),
        (pd.DataFrame([["present", "absent"]], columns=["fever", "fever"]), r"column 'fever' more than once"),
    ],
)
def test_bad_cohorts_raise_evidence_errors_naming_the_problem(model, frame, message):
    with pytest.raises(EvidenceError, match=message):
        model.diagnose_batch(frame)


def test_not_a_dataframe(model):
    with pytest.raises(EvidenceError, match=r"must be a pandas DataFrame with one row per case.*Got dict instead"):
        model.diagnose_batch({"opsoclonus": ["present"]})


def test_rows_with_impossible_evidence_are_named(tiny):
    blind = tiny.with_parameters({"opsoclonus.leak": 0.0, "oms.opsoclonus": 0.0, "aca.opsoclonus": 0.0})
    frame = pd.DataFrame({"opsoclonus": ["present", "absent", "present"]}, index=["a", "b", "c"])
    with pytest.raises(EvidenceError, match=r"row\(s\) 'a', 'c' of the cohort probability zero"):
        blind.diagnose_batch(frame)


def test_worker_threads_give_the_same_answers(model, monkeypatch):
    frame = random_cohort(model, 300, np.random.default_rng(9), ["opsoclonus", "ataxia", "fever", "onset"], p_missing=0.0)
    one = model.diagnose_batch(frame, dedupe=False)
    monkeypatch.setattr(model.engine, "threads", 2)
    two = model.diagnose_batch(frame, dedupe=False)
    np.testing.assert_allclose(two.to_numpy(), one.to_numpy(), rtol=0, atol=1e-14)
