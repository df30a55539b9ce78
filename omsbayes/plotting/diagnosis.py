"""Prior versus posterior bars for a :class:`~omsbayes.diagnosis.Diagnosis`."""

from __future__ import annotations

import numpy as np

from .style import ANNOTATION_SIZE, COLORS, new_axes, percent, set_title, style

__all__ = ["plot_diagnosis"]


#: Lowest probability drawn on a logarithmic axis; smaller values are drawn at this edge.
LOG_FLOOR = 1e-8


def _label(p: float, log: bool) -> str:
    """A bar label: a percentage, or scientific notation for the tiny values a log axis shows."""
    if log and 0 < p < 0.001:
        return f"{p:.1e}"
    return percent(p)


def plot_diagnosis(diagnosis, ax=None, top: int | None = None, xscale: str = "auto"):
    """Horizontal bars of each condition's prior (age only) and posterior.

    Parameters
    ----------
    diagnosis : Diagnosis
        A computed result; nothing is computed here.
    ax : matplotlib Axes, optional
        Where to draw; a new figure when omitted.
    top : int, optional
        Show only the ``top`` conditions by posterior.
    xscale : {"auto", "log", "linear"}
        ``auto`` draws a logarithmic axis when some prior is below 0.1%
        (priors are annual incidences, often a few per million, and a linear
        axis would not show them), a linear one otherwise.

    Returns
    -------
    matplotlib.axes.Axes
        With two bar containers, labelled ``"prior (age only)"`` and
        ``"posterior"``, and a probability label on every bar.
    """
    if xscale not in ("auto", "log", "linear"):
        raise ValueError(f"xscale must be 'auto', 'log' or 'linear'; got {xscale!r}")
    table = diagnosis.table
    if top is not None:
        table = table.head(top)
    table = table.iloc[::-1]  # largest at the top
    positive = table[["prior", "posterior"]].to_numpy()
    log = xscale == "log" or (xscale == "auto" and np.nanmin(np.where(positive > 0, positive, np.inf)) < 1e-3)
    with style():
        ax = new_axes(ax, figsize=(8.5, 0.45 * len(table) + 1.5))
        y = np.arange(len(table))
        height = 0.38
        prior = ax.barh(y + height / 2, table["prior"], height, color=COLORS["prior"], label="prior (age only)")
        post = ax.barh(y - height / 2, table["posterior"], height, color=COLORS["posterior"], label="posterior")
        if log:
            ax.set_xscale("log")
            ax.set_xlim(LOG_FLOOR, 30.0)  # room on the right for the labels of bars that reach 1
        else:
            ax.set_xlim(0, 1.12)
        for bars, values in ((prior, table["prior"]), (post, table["posterior"])):
            for bar, value in zip(bars, values):
                width = max(bar.get_width(), LOG_FLOOR) if log else bar.get_width()
                ax.text(
                    width * 1.3 if log else width + 0.01,
                    bar.get_y() + bar.get_height() / 2,
                    _label(float(value), log),
                    va="center",
                    fontsize=ANNOTATION_SIZE,
                    color=COLORS["text"],
                )
        ax.set_yticks(y)
        ax.set_yticklabels(table["label"])
        ax.set_xlabel("probability of the condition" + (" (log scale)" if log else ""))
        age = diagnosis.evidence.age_bin or "age unknown"
        set_title(ax, f"Differential diagnosis ({age})")
        ax.legend(loc="lower right", frameon=True, framealpha=0.9)
    return ax
