"""The command line as a new user meets it: evidence anywhere, --id alone, helpful errors (issue 11)."""

from __future__ import annotations

import json

import pytest

from omsbayes.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _posteriors(out: str) -> dict:
    return {row["condition"]: row["posterior"] for row in json.loads(out)["differential"]}


def test_evidence_may_be_mixed_with_options_in_any_order(capsys):
    _, first, _ = run(capsys, "diagnose", "--json", "--age", "1.5", "opsoclonus=present", "ataxia~0.7")
    code, mixed, err = run(capsys, "diagnose", "opsoclonus=present", "--age", "1.5", "ataxia~0.7", "--json")
    assert code == 0, err
    assert _posteriors(mixed) == _posteriors(first)
    assert json.loads(mixed)["age_years"] == 1.5


def test_candidates_do_not_swallow_evidence(capsys):
    code, out, err = run(capsys, "voi", "--json", "--candidates", "mibg_scan", "opsoclonus=present", "--age", "2")
    assert code == 0, err
    data = json.loads(out)
    assert [row["candidate"] for row in data["table"]] == ["mibg_scan"]
    _, reference, _ = run(capsys, "voi", "--json", "opsoclonus=present", "--age", "2", "--candidates", "mibg_scan")
    assert json.loads(reference)["table"] == data["table"]


def test_candidates_need_a_name(capsys):
    with pytest.raises(SystemExit):
        main(["voi", "--candidates", "opsoclonus=present"])
    assert "--candidates needs at least one variable name" in capsys.readouterr().err


def test_stray_word_is_still_an_error(capsys):
    with pytest.raises(SystemExit):
        main(["diagnose", "opsoclonus=present", "--age", "1", "bogus"])
    assert "unrecognized arguments: bogus" in capsys.readouterr().err


def test_age_as_evidence_points_to_the_age_option(capsys):
    code, _, err = run(capsys, "diagnose", "age=1.5", "opsoclonus=present")
    assert code == 2
    assert "Give the age in years with --age 1.5" in err
    # an age bin by name is still evidence on the age variable
    code, out, _ = run(capsys, "diagnose", "--json", "age=toddler", "opsoclonus=present")
    assert code == 0 and json.loads(out)["age_bin"] == "toddler"


def test_id_alone_finds_a_bundled_vignette(capsys, model, vignettes):
    case = next(iter(vignettes))
    code, out, err = run(capsys, "diagnose", "--json", "--id", case.id)
    assert code == 0, err
    expected = model.diagnose(case.evidence, age=case.age_years, setting=case.setting)  # the case file names its setting
    assert _posteriors(out) == pytest.approx(expected.posterior.to_dict(), rel=1e-12)


def test_unknown_id_without_case_is_an_error(capsys, vignettes):
    case = next(iter(vignettes))
    code, _, err = run(capsys, "diagnose", "--id", case.id + "x")
    assert code == 2
    assert f"No case with id '{case.id}x' in the bundled public vignettes" in err
    assert f"Did you mean '{case.id}'" in err


def test_case_without_id_is_an_error(capsys, tmp_path):
    code, _, err = run(capsys, "diagnose", "--case", str(tmp_path / "cases.yaml"))
    assert code == 2 and "--case needs --id" in err


def test_id_with_csv_is_an_error(capsys, tmp_path, vignettes):
    code, _, err = run(capsys, "diagnose", "--csv", str(tmp_path / "cohort.csv"), "--id", next(iter(vignettes)).id)
    assert code == 2 and "--id chooses one case and --csv diagnoses every row" in err
