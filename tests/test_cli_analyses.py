"""The analysis commands: sensitivity, uncertainty, voi, whatif (run in-process through cli.main)."""

from __future__ import annotations

import json

import numpy as np
import pytest

import omsbayes
from omsbayes import Likelihood
from omsbayes.cli import main

from .conftest import TINY_MODEL

_TINY = omsbayes.load_model(TINY_MODEL)
TINY = ["--model", str(TINY_MODEL)]


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_sensitivity_json_equals_the_api(capsys):
    code, out, _ = run(capsys, *TINY, "sensitivity", "opsoclonus=present", "ataxia=0.8", "--age", "2", "--json")
    assert code == 0
    data = json.loads(out)
    expected = _TINY.sensitivity({"opsoclonus": "present", "ataxia": 0.8}, age=2)
    assert data["posterior"] == pytest.approx(expected.posterior, rel=1e-12)
    assert [r["parameter"] for r in data["table"]] == list(expected.table["parameter"])
    first = data["table"][0]
    assert first["a"] == pytest.approx(expected.table["a"].iloc[0], rel=1e-12)


def test_sensitivity_table_and_plot(capsys, tmp_path, model):
    png = tmp_path / "tornado.png"
    code, out, _ = run(capsys, "sensitivity", "opsoclonus=present", "ataxia=present", "--age", "1.5", "--top", "3", "--plot", str(png))
    assert code == 0 and png.stat().st_size > 0
    expected = model.sensitivity({"opsoclonus": "present", "ataxia": "present"}, age=1.5)
    body = out.split("\n\n")[1].splitlines()
    assert len(body) == 4  # header and three parameters
    assert body[1].split()[0] == expected.table["parameter"].iloc[0]
    assert "not a medical device" in out


def test_sensitivity_unknown_target(capsys):
    code, _, err = run(capsys, *TINY, "sensitivity", "opsoclonus=present", "--target", "omz")
    assert code == 2
    assert "The target 'omz' of sensitivity is not a variable of the model. Did you mean 'oms'?" in err


def test_uncertainty_json_is_reproducible(capsys):
    argv = [*TINY, "uncertainty", "opsoclonus=present", "ataxia=lr:5", "--age", "2", "--draws", "200", "--seed", "7", "--no-progress", "--json"]
    code, out, err = run(capsys, *argv)
    assert code == 0 and err == ""
    again = json.loads(run(capsys, *argv)[1])
    data = json.loads(out)
    assert data == again
    expected = _TINY.uncertainty({"opsoclonus": "present", "ataxia": Likelihood.ratio(5)}, age=2, draws=200, rng=7, progress=False)
    assert data["p_top_differs"] == expected.p_top_differs
    assert [r["median"] for r in data["table"]] == pytest.approx(list(expected.table["median"]), rel=1e-12)


def test_uncertainty_plot(capsys, tmp_path):
    png = tmp_path / "intervals.png"
    code, out, _ = run(capsys, *TINY, "uncertainty", "opsoclonus=present", "--draws", "50", "--seed", "1", "--no-progress", "--plot", str(png))
    assert code == 0 and png.stat().st_size > 0 and "Posterior uncertainty over 50 parameter draws" in out


def test_voi_json_and_candidates(capsys, tmp_path):
    png = tmp_path / "voi.png"
    code, out, _ = run(capsys, *TINY, "voi", "opsoclonus=present", "--age", "2", "--json", "--plot", str(png), "--candidates", "ataxia", "urine_catecholamines")
    assert code == 0 and png.stat().st_size > 0
    data = json.loads(out)
    expected = _TINY.value_of_information({"opsoclonus": "present"}, age=2, candidates=["ataxia", "urine_catecholamines"])
    assert [r["candidate"] for r in data["table"]] == list(expected.table["candidate"])
    assert data["table"][0]["expected_entropy_reduction"] == pytest.approx(expected.table["expected_entropy_reduction"].iloc[0], rel=1e-12)


def test_voi_observed_candidate(capsys):
    code, _, err = run(capsys, *TINY, "voi", "opsoclonus=present", "--candidates", "opsoclonus")
    assert code == 2 and "The candidate 'opsoclonus' of value_of_information is already observed" in err


def test_whatif_scenarios(capsys):
    code, out, _ = run(
        capsys, *TINY, "whatif", "opsoclonus=present", "ataxia=present", "--age", "2",
        "--scenario", "no ataxia", "ataxia=",
        "--scenario", "adult", "age=30",
        "--scenario", "weaker link", "oms.opsoclonus=0.5", "--json",
    )
    assert code == 0
    data = json.loads(out)
    assert [s["scenario"] for s in data["scenarios"]] == ["baseline", "no ataxia", "adult", "weaker link"]
    rows = {(r["scenario"], r["condition"]): r["posterior"] for r in data["table"]}
    case = {"opsoclonus": "present", "ataxia": "present"}
    assert rows[("no ataxia", "oms")] == pytest.approx(_TINY.diagnose({"opsoclonus": "present"}, age=2).posterior["oms"], rel=1e-12)
    assert rows[("adult", "oms")] == pytest.approx(_TINY.diagnose(case, age=30).posterior["oms"], rel=1e-12)
    weaker = _TINY.with_parameters({"oms.opsoclonus": 0.5}).diagnose(case, age=2).posterior["oms"]
    assert rows[("weaker link", "oms")] == pytest.approx(weaker, rel=1e-12)


def test_whatif_sweeps_trajectory_and_impact(capsys, tmp_path):
    code, out, _ = run(capsys, *TINY, "whatif", "opsoclonus=present", "--sweep-age", "--json")
    data = json.loads(out)
    assert code == 0 and data["kind"] == "age" and len(data["table"]) == 6 * len(_TINY.conditions)
    code, out, _ = run(capsys, *TINY, "whatif", "opsoclonus=present", "--age", "2", "--sweep-parameter", "nb.rate.*", "--factors", "0.1", "10", "--json")
    data = json.loads(out)
    assert code == 0 and sorted({r["factor"] for r in data["table"]}) == [0.1, 10.0]
    png = tmp_path / "trajectory.png"
    code, out, _ = run(capsys, *TINY, "whatif", "opsoclonus=present", "ataxia=present", "--age", "2", "--plot", str(png), "--trajectory", "ataxia")
    assert code == 0 and png.stat().st_size > 0 and "Evidence trajectory" in out
    assert out.split("\n\n")[1].splitlines()[2].split()[0] == "ataxia"
    code, out, _ = run(capsys, *TINY, "whatif", "opsoclonus=present", "ataxia=present", "--age", "2", "--impact", "--json")
    data = json.loads(out)
    impact = _TINY.evidence_impact({"opsoclonus": "present", "ataxia": "present"}, age=2)
    assert code == 0 and [r["item"] for r in data["summary"]] == list(impact.summary["item"])
    assert np.allclose([r["lr"] for r in data["summary"]], impact.summary["lr"], rtol=1e-12)


def test_whatif_usage_errors(capsys):
    code, _, err = run(capsys, *TINY, "whatif", "opsoclonus=present")
    assert code == 2 and "whatif needs --scenario NAME CHANGE" in err
    code, _, err = run(capsys, *TINY, "whatif", "opsoclonus=present", "--sweep-age", "--age", "2")
    assert code == 2 and "--sweep-age varies the age; do not give --age." in err
    code, _, err = run(capsys, *TINY, "whatif", "opsoclonus=present", "--scenario", "x", "ataxya=present")
    assert code == 2 and "Did you mean 'ataxia'?" in err
    code, _, err = run(capsys, *TINY, "whatif", "opsoclonus=present", "--scenario", "lonely")
    assert code == 2 and "Scenario 'lonely' lists no change" in err
