"""Prior versus posterior bars for a :class:`~omsbayes.diagnosis.Diagnosis`."""

from __future__ import annotations

import numpy as np

from .style import ANNOTATION_SIZE, COLORS, new_axes, percent, set_title, style

__all__ = ["plot_diagnosis"]


def plot_diagnosis(diagnosis, ax=None, top: int | None = None):
    """Horizontal bars of each condition's prior (age only) and posterior.

    Parameters
    ----------
    diagnosis : Diagnosis
        A computed result; nothing is computed here.
    ax : matplotlib Axes, optional
        Where to draw; a new figure when omitted.
    top : int, optional
        Show only the ``top`` conditions by posterior.

    Returns
    -------
    matplotlib.axes.Axes
        With two bar containers, labelled ``"prior (age only)"`` and
        ``"posterior"``, and a percentage text on every bar.
    """
    table = diagnosis.table
    if top is not None:
        table = table.head(top)
    table = table.iloc[::-1]  # largest at the top
    with style():
        ax = new_axes(ax, figsize=(8, 0.45 * len(table) + 1.5))
        y = np.arange(len(table))
        height = 0.38
        prior = ax.barh(y + height / 2, table["prior"], height, color=COLORS["prior"], label="prior (age only)")
        post = ax.barh(y - height / 2, table["posterior"], height, color=COLORS["posterior"], label="posterior")
        for bars, values in ((prior, table["prior"]), (post, table["posterior"])):
            for bar, value in zip(bars, values):
                ax.text(
                    bar.get_width() + 0.01,
                    bar.get_y() + bar.get_height() / 2,
                    percent(float(value)),
                    va="center",
                    fontsize=ANNOTATION_SIZE,
                    color=COLORS["text"],
                )
        ax.set_yticks(y)
        ax.set_yticklabels(table["label"])
        ax.set_xlim(0, 1.12)
        ax.set_xlabel("probability of the condition")
        age = diagnosis.evidence.age_bin or "age unknown"
        set_title(ax, f"Differential diagnosis ({age})")
        ax.legend(loc="lower right", frameon=False)
    return ax
