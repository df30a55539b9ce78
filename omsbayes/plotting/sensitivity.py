"""Tornado plot of a :class:`~omsbayes.sensitivity.Sensitivity`."""

from __future__ import annotations

import numpy as np

from .style import ANNOTATION_SIZE, COLORS, new_axes, set_title, style

__all__ = ["plot_tornado"]


def plot_tornado(sensitivity, ax=None, top: int = 15):
    """The ``top`` parameters by swing: the target's posterior at each end of their range.

    Each parameter gets two bars starting at the current posterior: one to the
    posterior with the parameter at the low end of its 95% uncertainty
    interval, one to the posterior at the high end (the values are written at
    the bar ends). Nothing is computed here: the posteriors are the exact
    sensitivity functions evaluated in :func:`omsbayes.sensitivity.sensitivity`.

    Parameters
    ----------
    sensitivity : Sensitivity
        A computed result.
    ax : matplotlib Axes, optional
        Where to draw; a new figure when omitted.
    top : int
        How many parameters to show (largest swing at the top).

    Returns
    -------
    matplotlib.axes.Axes
        Two bar containers labelled ``"parameter at its low end"`` and
        ``"parameter at its high end"`` (bar ``i`` spans from the current
        posterior to ``posterior_low`` / ``posterior_high`` of row ``i`` of the
        table), y tick labels the parameters' descriptions (``means``, with the
        parameter's name added where two shown parameters share one).
    """
    table = sensitivity.table.head(top).iloc[::-1]
    p0 = sensitivity.posterior
    with style():
        ax = new_axes(ax, figsize=(9, 0.42 * len(table) + 1.8))
        y = np.arange(len(table))
        low = ax.barh(
            y, table["posterior_low"] - p0, left=p0, height=0.6, color=COLORS["negative"], label="parameter at its low end"
        )
        high = ax.barh(
            y, table["posterior_high"] - p0, left=p0, height=0.6, color=COLORS["positive"], alpha=0.85,
            label="parameter at its high end",
        )
        for bars, values, ends in ((low, table["low"], table["posterior_low"]), (high, table["high"], table["posterior_high"])):
            for bar, value, end in zip(bars, values, ends):
                right = end >= p0
                ax.text(
                    end,
                    bar.get_y() + bar.get_height() / 2,
                    f" {value:.3g} ",
                    va="center",
                    ha="left" if right else "right",
                    fontsize=ANNOTATION_SIZE,
                    color=COLORS["text"],
                )
        ax.axvline(p0, color=COLORS["text"], lw=1)
        ax.set_yticks(y)
        ax.set_yticklabels(_labels(table))
        ax.set_xlabel(f"P({sensitivity.target_label} | evidence)")
        set_title(ax, f"Sensitivity of P({sensitivity.target_label}) = {p0:.3g} over each parameter's 95% range")
        # below the axes: the bars and their values fill the plot
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=2, frameon=False)
        ax.margins(x=0.15)
    return ax


def _labels(table) -> list[str]:
    """Each parameter's description, with its name where two shown parameters share a description."""
    counts = table["means"].value_counts()
    return [m if counts[m] == 1 else f"{m} ({p})" for m, p in zip(table["means"], table["parameter"])]
