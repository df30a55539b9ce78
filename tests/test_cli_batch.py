"""``omsbayes diagnose --csv``: a cohort file in, one row of posteriors per case out."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd

from omsbayes.cli import main

COHORT = """id,age,opsoclonus,ataxia,fever,onset
p1,1.5,present,present,,subacute
p2,40,,present,0.2,
p3,,absent,,present,acute
p4,70,,,,
"""


def _oracle(model):
    """Each case through ``model.diagnose``, one at a time."""
    cases = {
        "p1": ({"opsoclonus": "present", "ataxia": "present", "onset": "subacute"}, 1.5),
        "p2": ({"ataxia": "present", "fever": 0.2}, 40.0),
        "p3": ({"opsoclonus": "absent", "fever": "present", "onset": "acute"}, None),
        "p4": ({}, 70.0),
    }
    return pd.DataFrame({k: model.diagnose(ev, age=age).posterior for k, (ev, age) in cases.items()}).T


def test_csv_round_trip_to_a_file(tmp_path, model, capsys):
    cohort = tmp_path / "cohort.csv"
    cohort.write_text(COHORT)
    out = tmp_path / "posteriors.csv"
    assert main(["diagnose", "--csv", str(cohort), "--out", str(out)]) == 0
    assert capsys.readouterr().out == ""
    written = pd.read_csv(out, index_col="id")
    assert list(written.index) == ["p1", "p2", "p3", "p4"]
    assert list(written.columns) == model.conditions
    expected = _oracle(model)[model.conditions]
    np.testing.assert_allclose(written.to_numpy(), expected.to_numpy(dtype=float), rtol=1e-12, atol=1e-18)


def test_csv_to_stdout_without_an_id_column(tmp_path, model, capsys):
    cohort = tmp_path / "cohort.csv"
    cohort.write_text(COHORT.replace("id,", "").replace("p1,", "").replace("p2,", "").replace("p3,", "").replace("p4,", ""))
    assert main(["diagnose", "--csv", str(cohort)]) == 0
    written = pd.read_csv(io.StringIO(capsys.readouterr().out), index_col="row")
    assert list(written.index) == [0, 1, 2, 3]
    expected = _oracle(model)[model.conditions]
    np.testing.assert_allclose(written.to_numpy(), expected.to_numpy(dtype=float), rtol=1e-12, atol=1e-18)


def test_csv_with_an_unknown_column_fails_with_a_suggestion(tmp_path, capsys):
    cohort = tmp_path / "cohort.csv"
    cohort.write_text("id,opsoclonos\nx,present\n")
    assert main(["diagnose", "--csv", str(cohort)]) == 2
    err = capsys.readouterr().err
    assert f"{cohort}:1: unknown column 'opsoclonos'" in err and "Did you mean 'opsoclonus'?" in err


def test_csv_with_an_illegal_state_names_the_case(tmp_path, capsys):
    cohort = tmp_path / "cohort.csv"
    cohort.write_text("id,opsoclonus\nfirst,present\nsecond,yes\n")
    assert main(["diagnose", "--csv", str(cohort)]) == 2
    assert "Row 'second' of the cohort: variable 'opsoclonus' has no state 'yes'" in capsys.readouterr().err


def test_csv_cannot_be_combined_with_command_line_evidence(tmp_path, capsys):
    cohort = tmp_path / "cohort.csv"
    cohort.write_text(COHORT)
    assert main(["diagnose", "--csv", str(cohort), "opsoclonus=present"]) == 2
    assert "give evidence and ages in the file" in capsys.readouterr().err


def test_missing_csv_file_is_an_error(tmp_path, capsys):
    assert main(["diagnose", "--csv", str(tmp_path / "nope.csv")]) == 2
    assert "nope.csv: the file does not exist." in capsys.readouterr().err
