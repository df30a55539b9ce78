"""Plots of omsbayes results. Every function takes a computed result and ``ax=None`` and returns the Axes."""

from __future__ import annotations

from .diagnosis import plot_diagnosis
from .evaluation import plot_calibration
from .frequencies import plot_frequency_tree
from .information import plot_evidence_impact, plot_value_of_information
from .network import plot_network
from .scenarios import plot_sweep, plot_what_if
from .sensitivity import plot_tornado
from .style import COLORS
from .uncertainty import plot_uncertainty

__all__ = [
    "plot_diagnosis",
    "plot_calibration",
    "plot_tornado",
    "plot_uncertainty",
    "plot_evidence_impact",
    "plot_value_of_information",
    "plot_what_if",
    "plot_sweep",
    "plot_frequency_tree",
    "plot_network",
    "COLORS",
]
