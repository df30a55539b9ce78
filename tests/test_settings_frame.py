"""``settings.frame_with_settings``: the grouped resolution against the row-by-row loop it replaced."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from omsbayes import EvidenceError
from omsbayes.evidence import age_to_bin
from omsbayes.settings import SETTING_KEY, frame_with_settings, resolve_setting

TOL = 1e-12


def row_loop(spec, frame: pd.DataFrame, setting=None) -> pd.DataFrame:
    """The reference: the row loop of omsbayes 0.1.0 (commit 3eea34c), kept verbatim but for its imports.

    It reads an age given as text (a bin's name, "7") as unknown; the grouped
    version reads it as ``encode_cohort`` does, so the frames built below give
    ages as numbers except where a test says otherwise.
    """
    out = frame.copy()
    named = out.pop(SETTING_KEY) if SETTING_KEY in out.columns else pd.Series(None, index=out.index, dtype=object)
    named = named.astype(object).where(named.notna(), setting)
    ages = out["age"] if "age" in out.columns else pd.Series(None, index=out.index, dtype=object)
    onset = out["onset"] if "onset" in out.columns else pd.Series(None, index=out.index, dtype=object)
    keys = {}
    for idx, (name, age, on) in enumerate(zip(named.tolist(), ages.tolist(), onset.tolist())):
        on = on if isinstance(on, str) else None
        name = name if isinstance(name, str) else None
        age_bin = None
        if age is not None and not (pd.api.types.is_scalar(age) and pd.isna(age)):
            try:
                age_bin = age_to_bin(age, spec.age_states, spec.age_bins_years, "diagnose_batch")
            except EvidenceError:
                age_bin = None
        given = {v: out.iloc[idx][v] for v in spec.selection if v in out.columns and pd.notna(out.iloc[idx][v])}
        key = (name, age_bin, on == "chronic", tuple(sorted(given.items())))
        if key not in keys:
            ev = {**given, **({"onset": "chronic"} if on == "chronic" else {})}
            if name is not None:
                ev[SETTING_KEY] = name
            try:
                _, expanded = resolve_setting(spec, ev, age_bin, "diagnose_batch")
            except EvidenceError as err:
                raise EvidenceError(f"Row {frame.index[idx]!r}: {err}") from None
            keys[key] = {k: v for k, v in expanded.items() if k != "onset" or on != "chronic"}
        for var, state in keys[key].items():
            if var not in out.columns:
                out[var] = None
            current = out.iat[idx, out.columns.get_loc(var)]
            if pd.notna(current) and current != state:
                raise EvidenceError(
                    f"Row {frame.index[idx]!r}: its setting means {var}={state}, but the row gives {var}={current!r}."
                )
            out.iat[idx, out.columns.get_loc(var)] = state
    return out


def mixed_frame(model, rows: int, rng: np.random.Generator, conflicts: bool = False) -> pd.DataFrame:
    """Named settings (some for the wrong ages when ``conflicts``), None, numeric ages, chronic onsets, selection variables."""
    names = np.array(list(model.spec.settings) + [None, None], dtype=object)
    data = {
        "age": np.where(rng.random(rows) < 0.2, np.nan, rng.uniform(0, 90, rows).round(1)),
        SETTING_KEY: names[rng.integers(0, len(names), rows)],
        "onset": np.array(list(model.states("onset")) + [None, pd.NA, np.nan], dtype=object)[
            rng.integers(0, len(model.states("onset")) + 3, rows)
        ],
        "ataxia": np.array(["present", "absent", None], dtype=object)[rng.integers(0, 3, rows)],
    }
    for var in model.spec.selection:
        column = np.array(list(model.states(var)) + [None] * 4, dtype=object)[rng.integers(0, len(model.states(var)) + 4, rows)]
        data[var] = column
    frame = pd.DataFrame(data, index=[f"p{i}" for i in range(rows)]).astype(object)
    if not conflicts:  # keep only the rows the loop accepts, so that both run to the end
        keep = []
        for label in frame.index:
            try:
                row_loop(model.spec, frame.loc[[label]])
                keep.append(label)
            except EvidenceError:
                pass
        frame = frame.loc[keep]
    return frame


def assert_same_frame(new: pd.DataFrame, old: pd.DataFrame) -> None:
    assert list(new.columns) == list(old.columns)
    assert list(new.index) == list(old.index)
    for column in new.columns:
        a, b = new[column].to_numpy(dtype=object), old[column].to_numpy(dtype=object)
        same = [(pd.isna(x) and pd.isna(y)) if pd.isna(x) or pd.isna(y) else x == y for x, y in zip(a, b)]
        assert all(same), (column, [(i, x, y) for i, x, y, s in zip(new.index, a, b, same) if not s][:5])


def test_grouped_resolution_equals_the_row_loop_on_mixed_frames(model):
    frame = mixed_frame(model, 400, np.random.default_rng(12))
    assert frame[SETTING_KEY].notna().any() and frame[SETTING_KEY].isna().any()
    assert frame["acute_presentation"].notna().any() and (frame["onset"] == "chronic").any()
    assert len(frame) > 100
    assert_same_frame(frame_with_settings(model.spec, frame), row_loop(model.spec, frame))
    for setting in model.spec.settings:  # the setting= of rows that name none
        try:
            old = row_loop(model.spec, frame, setting)
        except EvidenceError as err:
            with pytest.raises(EvidenceError) as new:
                frame_with_settings(model.spec, frame, setting)
            assert str(new.value) == str(err)
        else:
            assert_same_frame(frame_with_settings(model.spec, frame, setting), old)


def test_batch_rows_equal_diagnose_with_each_rows_setting(model):
    frame = mixed_frame(model, 60, np.random.default_rng(3))
    batch = model.diagnose_batch(frame)
    for label, row in frame.iterrows():
        evidence = {k: v for k, v in row.items() if k not in ("age", SETTING_KEY) and not pd.isna(v)}
        age = None if pd.isna(row["age"]) else float(row["age"])
        name = row[SETTING_KEY] if isinstance(row[SETTING_KEY], str) else None
        expected = model.diagnose(evidence, age=age, setting=name).posterior
        np.testing.assert_allclose(batch.loc[label].to_numpy(), expected[batch.columns].to_numpy(), rtol=0, atol=TOL)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), rows=st.integers(1, 30))
def test_errors_name_the_same_row_as_the_row_loop(model, seed, rows):
    frame = mixed_frame(model, rows, np.random.default_rng(seed), conflicts=True)
    if seed % 2:  # a finding the known_cancer setting sets, given against it on some rows
        frame["known_cancer"] = np.array(["absent", None, "present"], dtype=object)[np.arange(rows) % 3]
    try:
        old = row_loop(model.spec, frame)
    except EvidenceError as err:
        with pytest.raises(EvidenceError) as new:
            frame_with_settings(model.spec, frame)
        assert str(new.value) == str(err)
        assert str(new.value).startswith("Row 'p")
    else:
        assert_same_frame(frame_with_settings(model.spec, frame), old)


def test_an_age_given_as_a_bin_or_as_text_is_read_as_diagnose_reads_it(model):
    frame = pd.DataFrame({"age": ["child", "7", 7.0], "ataxia": ["present"] * 3}, dtype=object)
    batch = model.diagnose_batch(frame)
    expected = model.diagnose({"ataxia": "present"}, age=7.0).posterior
    for i in range(3):
        np.testing.assert_allclose(batch.iloc[i].to_numpy(), expected[batch.columns].to_numpy(), rtol=0, atol=TOL)
    adults_only = next(n for n, s in model.spec.settings.items() if s.ages and "child" not in s.ages)
    for age in ("child", "7"):  # the row loop read these as an unknown age and let a setting for adults through
        wrong = pd.DataFrame({"age": [age], SETTING_KEY: [adults_only]}, index=["kid"], dtype=object)
        with pytest.raises(EvidenceError, match=r"Row 'kid': The setting .* is for the age bins"):
            model.diagnose_batch(wrong)
        with pytest.raises(EvidenceError, match="is for the age bins"):
            model.diagnose({}, age=7.0, setting=adults_only)


def test_a_row_contradicting_its_settings_finding_is_named(model):
    frame = pd.DataFrame(
        {SETTING_KEY: [None, "known_cancer", "known_cancer"], "known_cancer": [None, None, "absent"]},
        index=["a", "b", "c"],
        dtype=object,
    )
    with pytest.raises(EvidenceError, match=r"Row 'c': its setting means known_cancer=present, but the row gives known_cancer='absent'"):
        frame_with_settings(model.spec, frame)
    filled = frame_with_settings(model.spec, frame.iloc[:2])
    assert pd.isna(filled.loc["a", "known_cancer"]) and filled.loc["b", "known_cancer"] == "present"
    assert filled.loc["b", "acute_presentation"] == "present"
