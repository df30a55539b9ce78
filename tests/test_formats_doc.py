"""The documented formats work as written; the licence and `model show` say what a new user needs (issue 11)."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import omsbayes
from omsbayes.cli import main

from .conftest import TINY_MODEL

ROOT = Path(__file__).resolve().parents[1]
FORMATS = ROOT / "docs" / "formats.md"


def _block(kind: str) -> str:
    blocks = re.findall(rf"```{kind}\n(.*?)```", FORMATS.read_text(encoding="utf-8"), flags=re.S)
    assert len(blocks) == 1, kind
    return blocks[0]


def test_readme_links_the_formats_page():
    assert "(docs/formats.md)" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_documented_case_file_loads_and_diagnoses(tmp_path, model, capsys):
    path = tmp_path / "cases.yaml"
    path.write_text(_block("yaml"), encoding="utf-8")
    cases = omsbayes.load_cases(path, model=model)
    assert cases.ids == ["my-toddler-1", "my-adult-1"]
    first = cases["my-toddler-1"]
    assert first.age_years == 1.5 and first.primary == "oms" and first.evidence["urine_catecholamines"] == 0.8
    assert main(["diagnose", "--json", "--case", str(path), "--id", "my-toddler-1"]) == 0
    data = json.loads(capsys.readouterr().out)
    expected = model.diagnose(first.evidence, age=first.age_years).posterior
    assert {r["condition"]: r["posterior"] for r in data["differential"]} == pytest.approx(expected.to_dict(), rel=1e-12)


def test_documented_cohort_runs(tmp_path, model, capsys):
    path = tmp_path / "cohort.csv"
    path.write_text(_block("csv"), encoding="utf-8")
    out = tmp_path / "posteriors.csv"
    assert main(["diagnose", "--csv", str(path), "--out", str(out)]) == 0
    result = pd.read_csv(out, index_col=0)
    assert list(result.index) == ["child-1", "child-2", "adult-1", "unknown-age"]
    # one row, checked against diagnose: empty cells are unobserved, numbers are likelihoods
    expected = model.diagnose(
        {"opsoclonus": "present", "ataxia": "present", "myoclonus": "present", "urine_catecholamines": 0.7}
    ).posterior
    np.testing.assert_allclose(result.loc["unknown-age", list(expected.index)], expected.to_numpy(), rtol=1e-9)


def test_licence_file_is_the_mit_licence_pyproject_names():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert meta["license"] == "MIT"
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License") and "Permission is hereby granted, free of charge" in text


def test_model_show_lists_every_variable_with_its_states(capsys, tiny):
    assert main(["model", "show", str(TINY_MODEL)]) == 0
    lines = capsys.readouterr().out.splitlines()
    for name in tiny.variables:
        line = next(l for l in lines if l.startswith("  ") and l.split()[0] == name)
        assert " | ".join(tiny.states(name)) in line and tiny.label(name) in line
