"""The command line: every subcommand of issue 2, run in-process through cli.main."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from omsbayes import load_cases
from omsbayes.cli import main
from omsbayes.paths import datasets_dir


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_diagnose_prints_the_ranked_differential(capsys, model):
    code, out, _ = run(capsys, "diagnose", "--age", "1.5", "opsoclonus=present", "ataxia=present")
    assert code == 0
    lines = [l for l in out.splitlines() if l.strip().startswith("1 ")]
    assert "Opsoclonus-myoclonus syndrome" in lines[0]
    expected = model.diagnose({"opsoclonus": "present", "ataxia": "present"}, age=1.5).posterior["oms"]
    assert f"{expected:.4f}" in lines[0]
    assert "2004 consensus criteria" in out and "MUST NOT MISS" in out and "not a medical device" in out


def test_diagnose_json(capsys, model):
    code, out, _ = run(capsys, "diagnose", "--json", "--age", "2", "opsoclonus=present", "ataxia=0.8", "fever=lr:0.5")
    assert code == 0
    data = json.loads(out)
    dx = model.diagnose({"opsoclonus": "present", "ataxia": 0.8, "fever": {"absent": 1, "present": 0.5}}, age=2)
    assert data["differential"][0]["condition"] == dx.top
    assert data["differential"][0]["posterior"] == pytest.approx(dx.posterior[dx.top], rel=1e-12)
    assert data["provenance"]["model_name"] == "oms_ddx"


def test_diagnose_case_from_file(capsys, model, vignettes):
    path = datasets_dir() / "public_vignettes.yaml"
    code, out, _ = run(capsys, "diagnose", "--json", "--case", str(path), "--id", "pub-adem-5f-hemiplegia")
    assert code == 0
    case = vignettes["pub-adem-5f-hemiplegia"]
    expected = model.diagnose(case.evidence, age=case.age_years)
    data = json.loads(out)
    assert data["age_years"] == 5.0
    assert data["differential"][0]["condition"] == expected.top


def test_diagnose_case_unknown_id(capsys):
    path = datasets_dir() / "public_vignettes.yaml"
    code, _, err = run(capsys, "diagnose", "--case", str(path), "--id", "pub-adem")
    assert code == 2
    assert "No case with id 'pub-adem'" in err


def test_diagnose_writes_plot(capsys, tmp_path):
    png = tmp_path / "dx.png"
    code, _, _ = run(capsys, "diagnose", "--age", "2", "opsoclonus=present", "--plot", str(png))
    assert code == 0 and png.stat().st_size > 1000


@pytest.mark.parametrize(
    "argv,message",
    [
        (["diagnose", "opsoklonus=present"], "Unknown variable 'opsoklonus' in the evidence. Did you mean 'opsoclonus'?"),
        (["diagnose", "opsoclonus"], "Evidence must be written variable=state"),
        (["diagnose", "--age", "200", "ataxia=present"], "must be a number of years between 0 and 120. Got 200 instead."),
        (["diagnose", "ataxia=lr:x"], "A likelihood ratio must be a number"),
    ],
)
def test_errors_are_one_line_exit_2(capsys, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert err.startswith("omsbayes: error: ") and message in err
    assert "Traceback" not in err


def test_evaluate_prints_metrics(capsys):
    code, out, _ = run(capsys, "evaluate")
    assert code == 0
    assert "top-1 " in out and "By setting:" in out and "Children and adults:" in out and "Calibration" in out


def test_evaluate_json_and_file(capsys, tmp_path):
    path = datasets_dir() / "public_vignettes.yaml"
    png = tmp_path / "cal.png"
    code, out, _ = run(capsys, "evaluate", str(path), "--json", "--plot", str(png))
    assert code == 0
    data = json.loads(out)
    assert data["summary"]["n"] == len(load_cases(path))
    assert set(data["splits"]) == {"primary", "age", "setting"}
    assert png.exists()


def test_model_check_passes(capsys, model):
    code, out, _ = run(capsys, "model", "check")
    assert code == 0
    assert f"Literature targets met: {len(model.spec.targets)}/{len(model.spec.targets)}" in out and "OK: no problems found." in out


def test_model_check_fails_with_exit_1(capsys, tmp_path):
    import shutil

    from .conftest import TINY_MODEL

    shutil.copytree(TINY_MODEL, tmp_path / "tiny")
    targets = tmp_path / "tiny" / "targets.yaml"
    targets.write_text(targets.read_text().replace("range: [0.45, 0.55]", "range: [0.9, 0.95]"))
    code, out, _ = run(capsys, "model", "check", str(tmp_path / "tiny"), "--json")
    assert code == 1
    data = json.loads(out)
    assert not data["ok"]
    assert any("target 'nb-given-oms' not met" in p for p in data["problems"])


def test_model_show(capsys, model):
    code, out, _ = run(capsys, "model", "show")
    assert code == 0
    assert f"condition ({len(model.conditions) + len(model.residual_conditions)})" in out and "expert estimates" in out
    code, out, _ = run(capsys, "model", "show", "--json")
    data = json.loads(out)
    assert data["variables"]["oms"]["parents"] == ["age", "recent_infection", "neuroblastoma", "systemic_cancer"]


def test_demo_writes_png_and_exits_0(capsys, tmp_path):
    code, out, _ = run(capsys, "demo", "--out", str(tmp_path))
    assert code == 0
    assert "pub-board-18mo-oms-neuroblastoma" in out
    png = tmp_path / "demo_prior_vs_posterior.png"
    assert png.stat().st_size > 5000
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_python_m_entry_point():
    result = subprocess.run([sys.executable, "-m", "omsbayes", "--version"], capture_output=True, text=True, check=True)
    assert result.stdout.startswith("omsbayes ")
