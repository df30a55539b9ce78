"""The model files ship with the package: found from a checkout and inside a built wheel."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import omsbayes
from omsbayes.paths import default_model_path, models_dir

ROOT = Path(__file__).resolve().parent.parent


def test_default_model_is_found():
    assert default_model_path().is_file()
    assert (models_dir() / "vocabulary.yaml").is_file()


def test_wheel_carries_model_files_and_vignettes(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-q", "-w", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    wheel = next(tmp_path.glob("omsbayes-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for path in sorted((ROOT / "models").rglob("*.yaml")) + [ROOT / "models" / "oms_ddx" / "GAPS.md"]:
        inside = "omsbayes/_models/" + path.relative_to(ROOT / "models").as_posix()
        assert inside in names, inside
    assert "omsbayes/datasets/public_vignettes.yaml" in names
    assert "omsbayes/py.typed" in names
    assert f"omsbayes-{omsbayes.__version__}.dist-info/entry_points.txt" in names
