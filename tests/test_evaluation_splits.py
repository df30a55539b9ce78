"""Evaluation splits (primary diagnosis, children/adults, setting) on the tiny model, by hand."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from omsbayes import CaseFileError, EvidenceError, load_cases
from omsbayes.cli import main
from omsbayes.evaluation import METRICS, evaluate

from .conftest import TESTS, TINY_MODEL

CASES = TESTS / "data" / "cases" / "tiny_settings.yaml"
# The tiny model has no setting argument; this wrapper gives it one the way model 2.0 does
# (a setting = extra evidence), so that the numbers show whether the setting reached the model.
SETTING_EVIDENCE = {"paediatric_acute": {"onset": "acute"}, "known_cancer": {"urine_catecholamines": "positive"}}


class SettingModel:
    """The tiny model with a ``setting=`` argument; records every call."""

    def __init__(self, model):
        self._model = model
        self.calls = []

    def __getattr__(self, name):
        return getattr(self._model, name)

    def posteriors(self, evidence, age=None, **kwargs):
        self.calls.append((dict(evidence), age, dict(kwargs)))
        extra = SETTING_EVIDENCE[kwargs["setting"]] if "setting" in kwargs else {}
        return self._model.posteriors({**evidence, **extra}, age=age)


def by_hand(tiny, cases):
    """Rank, Brier and log loss of every case, computed from the tiny model's posteriors."""
    out = {}
    for case in cases:
        extra = SETTING_EVIDENCE[case.setting] if case.setting else {}
        p = tiny.posteriors({**case.evidence, **extra}, age=case.age_years)
        y = np.array([c in case.diagnosis for c in p.index], dtype=float)
        q = np.clip(p.to_numpy(), 1e-15, 1 - 1e-15)
        rank = 1 + int((p > p[case.primary]).sum())
        out[case.id] = {
            "rank": rank,
            "brier": float(np.mean((p.to_numpy() - y) ** 2)),
            "log_loss": float(-np.mean(y * np.log(q) + (1 - y) * np.log(1 - q))),
        }
    return out


@pytest.fixture(scope="module")
def result(tiny):
    return evaluate(SettingModel(tiny), load_cases(CASES, model=tiny))


def test_setting_is_passed_only_when_the_case_has_one(tiny):
    wrapped = SettingModel(tiny)
    cases = load_cases(CASES)
    evaluate(wrapped, cases)
    seen = {(tuple(sorted(ev.items())), age): kw for ev, age, kw in wrapped.calls}
    for case in cases:
        kw = seen[(tuple(sorted(case.evidence.items())), case.age_years)]
        assert kw == ({"setting": case.setting} if case.setting else {})
    # run grouped by setting: both paediatric_acute cases come before the known_cancer one
    assert [kw.get("setting") for _, _, kw in wrapped.calls] == [
        "paediatric_acute", "paediatric_acute", "known_cancer", None
    ]


def test_overall_metrics_by_hand(tiny, result):
    cases = load_cases(CASES)
    hand = by_hand(tiny, cases)
    # the setting moves the first child's posterior onto aca (acute onset): oms ranks second
    assert [hand[c.id]["rank"] for c in cases] == [2, 1, 1, 1]
    assert list(result.cases["rank"]) == [2, 1, 1, 1]
    assert list(result.cases["top"]) == ["aca", "aca", "oms", "aca"]
    s = result.summary
    assert list(s.index) == list(METRICS)
    assert s["n"] == 4
    assert s["top1"] == pytest.approx(3 / 4)
    assert s["top3"] == pytest.approx(1.0)
    assert s["mrr"] == pytest.approx((1 / 2 + 1 + 1 + 1) / 4)
    assert s["brier"] == pytest.approx(np.mean([h["brier"] for h in hand.values()]), abs=1e-14)
    assert s["log_loss"] == pytest.approx(np.mean([h["log_loss"] for h in hand.values()]), abs=1e-14)
    # Brier of the first case written out: P = (oms, neuroblastoma, aca), truth (1, 1, 0)
    p = tiny.posteriors({"opsoclonus": "present", "ataxia": "present", "onset": "acute"}, age=2)
    assert result.cases.loc["t-child-oms", "brier"] == pytest.approx(
        ((1 - p["oms"]) ** 2 + (1 - p["neuroblastoma"]) ** 2 + p["aca"] ** 2) / 3, abs=1e-14
    )


def test_splits_by_hand(tiny, result):
    hand = by_hand(tiny, load_cases(CASES))
    mrr = {cid: 1 / h["rank"] for cid, h in hand.items()}
    brier = {cid: h["brier"] for cid, h in hand.items()}
    groups = {
        ("primary", "oms"): ["t-child-oms", "t-adult-oms"],
        ("primary", "aca"): ["t-child-aca", "t-adult-aca"],
        ("age", "child"): ["t-child-oms", "t-child-aca"],
        ("age", "adult"): ["t-adult-oms", "t-adult-aca"],
        ("setting", "paediatric_acute"): ["t-child-oms", "t-child-aca"],
        ("setting", "known_cancer"): ["t-adult-oms"],
        ("setting", "unknown"): ["t-adult-aca"],
    }
    assert sorted(result.splits.index) == sorted(groups)
    top1 = {("primary", "oms"): 0.5, ("primary", "aca"): 1.0, ("age", "child"): 0.5, ("age", "adult"): 1.0,
            ("setting", "paediatric_acute"): 0.5, ("setting", "known_cancer"): 1.0, ("setting", "unknown"): 1.0}
    for key, ids in groups.items():
        row = result.splits.loc[key]
        assert row["n"] == len(ids)
        assert row["top1"] == pytest.approx(top1[key])
        assert row["top3"] == pytest.approx(1.0)
        assert row["mrr"] == pytest.approx(np.mean([mrr[i] for i in ids]))
        assert row["brier"] == pytest.approx(np.mean([brier[i] for i in ids]), abs=1e-14)
    assert result.by_age.loc["child", "mrr"] == pytest.approx(0.75)
    assert result.by_primary.loc["oms", "mrr"] == pytest.approx(0.75)
    assert list(result.by_setting.columns) == list(METRICS)


def test_calibration_counts_and_plot(result):
    cal = result.calibration
    assert cal["n"].sum() == 4 * 3
    p = result.posteriors.to_numpy().ravel()
    assert cal.loc["[0.00, 0.05)", "n"] == int((p < 0.05).sum())
    ax = result.plot()
    line = [l for l in ax.get_lines() if l.get_label() == "model"][0]
    np.testing.assert_allclose(line.get_xdata(), cal["mean_predicted"])
    np.testing.assert_allclose(line.get_ydata(), cal["observed"])
    assert sorted(t.get_text() for t in ax.texts) == sorted(f"n={n}" for n in cal["n"])


def test_report_html_and_json(result):
    text = result.report()
    for title in ("By primary diagnosis:", "Children and adults:", "By setting:", "Calibration"):
        assert title in text
    assert "paediatric_acute" in text and "known_cancer" in text
    html = result._repr_html_()
    assert "<h4>By setting</h4>" in html and "known_cancer" in html
    data = json.loads(json.dumps(result.to_dict()))
    assert data["splits"]["age"]["child"]["top1"] == pytest.approx(0.5)
    assert data["splits"]["setting"]["known_cancer"]["n"] == 1
    assert isinstance(result.splits, pd.DataFrame)


def test_unknown_primary_is_a_clear_error(tiny, tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("cases:\n- id: x\n  age_years: 50\n  evidence: {ataxia: present}\n  diagnosis: [pcd]\n")
    with pytest.raises(CaseFileError, match=r"case 'x': diagnosis \['pcd'\] is not among the model's conditions"):
        evaluate(tiny, load_cases(path))


def test_bad_setting_value(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("cases:\n- id: x\n  setting: 3\n  diagnosis: [oms]\n")
    with pytest.raises(CaseFileError, match=r"case 'x': 'setting' must be the name of a clinical setting; got 3"):
        load_cases(path)


def test_cli_prints_the_split_tables(tmp_path, capsys, tiny):
    # the tiny model has no setting argument: a copy of the file without settings
    text = "\n".join(line for line in CASES.read_text().splitlines() if "setting:" not in line)
    path = tmp_path / "cases.yaml"
    path.write_text(text)
    png = tmp_path / "cal.png"
    assert main(["--model", str(TINY_MODEL), "evaluate", str(path), "--plot", str(png)]) == 0
    out = capsys.readouterr().out
    assert "By primary diagnosis:" in out and "By setting:" in out and "unknown" in out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["--model", str(TINY_MODEL), "evaluate", str(path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    direct = evaluate(tiny, load_cases(path))
    assert data["summary"]["mrr"] == pytest.approx(direct.summary["mrr"])
    assert data["splits"]["age"]["adult"]["n"] == 2


def test_settings_need_a_model_that_takes_them(tiny, capsys):
    # either this module's check (a posteriors() without a setting argument) or the model's own
    # (a model whose file defines no settings) refuses, naming the setting
    with pytest.raises((CaseFileError, EvidenceError), match=r"setting.*'paediatric_acute'|'paediatric_acute'.*setting"):
        evaluate(tiny, load_cases(CASES))
    assert main(["--model", str(TINY_MODEL), "evaluate", str(CASES)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("omsbayes: error: ") and "Traceback" not in err
