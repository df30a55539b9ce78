"""Interval plot of an :class:`~omsbayes.uncertainty.Uncertainty`."""

from __future__ import annotations

import numpy as np

from .style import COLORS, new_axes, set_title, style

__all__ = ["plot_uncertainty"]


def plot_uncertainty(result, ax=None, top: int | None = None, xscale: str = "linear"):
    """Each condition's posterior: 95% and 90% intervals over parameter draws, median and point estimate.

    Parameters
    ----------
    result : Uncertainty
        A computed result.
    ax : matplotlib Axes, optional
    top : int, optional
        Show only the ``top`` conditions by point estimate.
    xscale : str
        ``"linear"`` (default), ``"log"`` or ``"logit"`` (small posteriors).

    Returns
    -------
    matplotlib.axes.Axes
        Two line collections (``"95% interval"``, ``"90% interval"``) with
        one horizontal segment per condition, and two marker lines
        (``"median over draws"``, ``"point estimate"``); the largest point
        estimate is at the top.
    """
    table = result.table if top is None else result.table.head(top)
    table = table.iloc[::-1]
    with style():
        ax = new_axes(ax, figsize=(8, 0.45 * len(table) + 1.6))
        y = np.arange(len(table))
        ax.hlines(y, table["low95"], table["high95"], color=COLORS["neutral"], lw=2, label="95% interval")
        ax.hlines(y, table["low90"], table["high90"], color=COLORS["posterior"], lw=5, label="90% interval")
        ax.plot(table["median"], y, "o", color=COLORS["text"], ms=5, label="median over draws")
        ax.plot(table["point"], y, "D", color=COLORS["highlight"], ms=6, label="point estimate", ls="none")
        ax.set_yticks(y)
        ax.set_yticklabels(table["label"])
        ax.set_xscale(xscale)
        if xscale == "linear":
            ax.set_xlim(0, 1.02)
        ax.set_xlabel("posterior probability of the condition")
        set_title(
            ax, f"Posterior uncertainty ({result.draws} draws); top differs in {100 * result.p_top_differs:.1f}%"
        )
        ax.legend(loc="lower right", frameon=False)
    return ax
