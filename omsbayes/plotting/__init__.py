"""Plots of omsbayes results. Every function takes a computed result and ``ax=None`` and returns the Axes."""

from __future__ import annotations

from .diagnosis import plot_diagnosis
from .evaluation import plot_calibration
from .style import COLORS

__all__ = ["plot_diagnosis", "plot_calibration", "COLORS"]
