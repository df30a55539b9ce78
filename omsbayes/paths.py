"""Where the bundled model and data files live.

The default model sits in the project's top-level ``models/`` directory. A
built wheel carries it as the package ``omsbayes._models``; an editable
install (or a source checkout) finds it beside the package.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["models_dir", "default_model_path", "datasets_dir"]

DEFAULT_MODEL = "oms_ddx"


def models_dir() -> Path:
    """The directory holding the bundled models (and ``vocabulary.yaml``)."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "_models", here.parent / "models"):  # wheel, then checkout / editable
        if (candidate / DEFAULT_MODEL / "model.yaml").is_file():
            return candidate
    raise FileNotFoundError(
        "The bundled model files were not found: reinstall omsbayes "
        "(python -m pip install -e '.[dev]') from a complete checkout."
    )


def default_model_path() -> Path:
    """``model.yaml`` of the default OMS model."""
    return models_dir() / DEFAULT_MODEL / "model.yaml"


def datasets_dir() -> Path:
    """The directory of the bundled case files."""
    return Path(__file__).resolve().parent / "datasets"
