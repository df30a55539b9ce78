"""Shared fixtures and the hypothesis profile of the test suite."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib
import pytest
from hypothesis import HealthCheck, settings

matplotlib.use("Agg")  # tests draw without a display

import omsbayes  # noqa: E402

TESTS = Path(__file__).resolve().parent
TINY_MODEL = TESTS / "data" / "tiny_model"

# A fast default profile for property tests; run with HYPOTHESIS_PROFILE=thorough for more examples.
settings.register_profile(
    "fast", max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
settings.register_profile("thorough", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "fast"))


@pytest.fixture(scope="session")
def model():
    """The bundled OMS model (loaded once per test session)."""
    return omsbayes.load_model()


@pytest.fixture(scope="session")
def tiny():
    """A small model with every table kind (tests/data/tiny_model)."""
    return omsbayes.load_model(TINY_MODEL)


@pytest.fixture(scope="session")
def vignettes():
    """The bundled public vignettes."""
    return omsbayes.load_public_vignettes()


@pytest.fixture(autouse=True)
def _close_figures():
    """Close matplotlib figures after each test (keeps memory flat)."""
    yield
    import matplotlib.pyplot as plt

    plt.close("all")
