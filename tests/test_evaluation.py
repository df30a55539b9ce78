"""Case files and the evaluation harness."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import omsbayes
from omsbayes import CaseFileError, load_cases
from omsbayes.cases import Case
from omsbayes.evaluation import evaluate


def write(tmp_path, text, name="cases.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_public_vignettes_load(vignettes):
    assert len(vignettes) >= 75
    assert vignettes.ids[0] == "pub-board-18mo-oms-neuroblastoma"
    board = vignettes["pub-board-18mo-oms-neuroblastoma"]
    assert board.age_years == 1.5 and board.primary == "oms" and board.diagnosis == ("oms", "neuroblastoma")


def test_public_vignettes_fit_the_model(model):
    from omsbayes.paths import datasets_dir

    cases = load_cases(datasets_dir() / "public_vignettes.yaml", model=model)
    assert len(cases) == len(omsbayes.load_public_vignettes())


def test_unknown_case_id_suggests(vignettes):
    with pytest.raises(KeyError, match=r"No case with id 'pub-board'"):
        vignettes["pub-board"]


def test_missing_case_file(tmp_path):
    with pytest.raises(CaseFileError, match=r"nope\.yaml: the file does not exist\."):
        load_cases(tmp_path / "nope.yaml")


def test_case_file_yaml_error_has_line(tmp_path):
    path = write(tmp_path, "cases:\n- id: a\n  evidence: {ataxia: present\n")
    with pytest.raises(CaseFileError, match=r"cases\.yaml:\d+: this is not valid YAML"):
        load_cases(path)


def test_case_file_needs_cases_list(tmp_path):
    with pytest.raises(CaseFileError, match=r"a case file must be a mapping with a 'cases' list"):
        load_cases(write(tmp_path, "version: 1\n"))


def test_case_needs_an_id(tmp_path):
    with pytest.raises(CaseFileError, match=r"cases\.yaml:2: case 1 needs an 'id'"):
        load_cases(write(tmp_path, "cases:\n- age_years: 2\n  diagnosis: [oms]\n"))


def test_duplicate_case_ids(tmp_path):
    text = "cases:\n- id: a\n  diagnosis: [oms]\n- id: a\n  diagnosis: [aca]\n"
    with pytest.raises(CaseFileError, match=r"cases\.yaml:4: case id 'a' appears twice"):
        load_cases(write(tmp_path, text))


def test_primary_must_be_in_diagnosis(tmp_path):
    text = "cases:\n- id: a\n  diagnosis: [oms]\n  primary: aca\n"
    with pytest.raises(CaseFileError, match=r"case 'a': primary 'aca' is not in its diagnosis \['oms'\]"):
        load_cases(write(tmp_path, text))


def test_bad_age_in_case(tmp_path):
    text = "cases:\n- id: a\n  age_years: two\n  diagnosis: [oms]\n"
    with pytest.raises(CaseFileError, match=r"case 'a': 'age_years' must be a number of years; got 'two'"):
        load_cases(write(tmp_path, text))


def test_case_evidence_checked_against_model(tmp_path, model):
    text = "cases:\n- id: a\n  age_years: 2\n  evidence: {opsoclonus: presnt}\n  diagnosis: [oms]\n"
    with pytest.raises(CaseFileError, match=r"cases\.yaml:\d+: case 'a': Variable 'opsoclonus' has no state 'presnt'; its states are \['absent', 'present'\]\. Did you mean 'present'\?"):
        load_cases(write(tmp_path, text), model=model)
    text = "cases:\n- id: a\n  age_years: 2\n  diagnosis: [omz]\n"
    with pytest.raises(CaseFileError, match=r"case 'a': 'omz' is not a condition of the model\. Did you mean 'oms'\?"):
        load_cases(write(tmp_path, text), model=model)


def test_metrics_match_a_hand_computation(model):
    cases = [
        Case(id="c1", age_years=1.5, evidence={"opsoclonus": "present", "ataxia": "present", "myoclonus": "present"},
             diagnosis=("oms", "neuroblastoma"), primary="oms"),
        Case(id="c2", age_years=3.0, evidence={"ataxia": "present", "recent_infection": "present", "onset": "acute"},
             diagnosis=("aca",), primary="aca"),
        Case(id="c3", age_years=3.0, evidence={"ataxia": "present"}, diagnosis=("cerebellar_stroke",), primary="cerebellar_stroke"),
    ]
    result = evaluate(model, cases)
    ranks, briers, losses = [], [], []
    for case in cases:
        post = model.diagnose(case.evidence, age=case.age_years).posterior
        order = list(post.sort_values(ascending=False).index)
        ranks.append(order.index(case.primary) + 1)
        y = np.array([c in case.diagnosis for c in post.index], dtype=float)
        p = post.to_numpy()
        briers.append(np.mean((p - y) ** 2))
        p = np.clip(p, 1e-15, 1 - 1e-15)
        losses.append(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
    s = result.summary
    assert s["top1"] == pytest.approx(np.mean([r == 1 for r in ranks]))
    assert s["top3"] == pytest.approx(np.mean([r <= 3 for r in ranks]))
    assert s["mrr"] == pytest.approx(np.mean([1 / r for r in ranks]))
    assert s["brier"] == pytest.approx(np.mean(briers))
    assert s["log_loss"] == pytest.approx(np.mean(losses))
    assert list(result.cases["rank"]) == ranks
    cal = result.calibration
    assert cal["n"].sum() == 3 * len(model.conditions)
    assert not cal.isna().any().any()


def test_public_vignette_metrics(model, vignettes):
    """The bundled set runs end to end; every split partitions the cases."""
    result = evaluate(model, vignettes)
    s = result.summary
    assert s["n"] == len(vignettes)
    assert 0 <= s["top1"] <= s["top3"] <= 1 and s["top1"] <= s["mrr"] <= 1
    assert 0 < s["brier"] < 1
    assert math.isfinite(s["log_loss"])
    assert list(result.posteriors.columns) == model.conditions
    for split in ("primary", "age", "setting"):
        table = result.splits.loc[split]
        assert table["n"].sum() == len(vignettes)
        # a split's metrics are the case-weighted means of the groups'
        assert (table["top1"] * table["n"]).sum() / len(vignettes) == pytest.approx(s["top1"])
        assert (table["brier"] * table["n"]).sum() / len(vignettes) == pytest.approx(s["brier"])
    assert set(result.by_age.index) == {"child", "adult"}
    ax = result.plot()
    assert ax.get_xlabel() == "mean predicted probability"
    line = [l for l in ax.get_lines() if l.get_label() == "model"][0]
    np.testing.assert_allclose(line.get_xdata(), result.calibration["mean_predicted"])
    data = result.to_dict()
    assert data["summary"]["top1"] == pytest.approx(s["top1"])
    assert isinstance(result.cases, pd.DataFrame)
