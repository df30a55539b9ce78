"""Prior versus posterior bars for a :class:`~omsbayes.diagnosis.Diagnosis`."""

from __future__ import annotations

import numpy as np

from .style import ANNOTATION_SIZE, COLORS, new_axes, percent, set_title, style

__all__ = ["plot_diagnosis", "PRIOR_NOTE"]

#: Under the plot: what the prior bar is.
PRIOR_NOTE = (
    "Prior: how probable each condition is at this age ({age}) and in this setting\n"
    "before any finding or test (see the model card)."
)


#: Lowest probability drawn on a logarithmic axis; smaller values are drawn at this edge.
LOG_FLOOR = 1e-8


#: The legend's words for the two bars (the prior is explained in the note under the plot).
PRIOR_LABEL = "prior: P(condition | age and setting)"
POSTERIOR_LABEL = "posterior: P(condition | all the evidence)"


def _label(p: float, log: bool) -> str:
    """A bar label: one format, a percentage, for every bar (see :func:`omsbayes.plotting.style.percent`)."""
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
        With two bar containers, labelled :data:`PRIOR_LABEL` and
        :data:`POSTERIOR_LABEL`, a percentage on every bar (one format for
        all; never 100% for less than certainty), and a note under the axes
        saying what the prior is.
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
        prior = ax.barh(y + height / 2, table["prior"], height, color=COLORS["prior"], label=PRIOR_LABEL)
        post = ax.barh(y - height / 2, table["posterior"], height, color=COLORS["posterior"], label=POSTERIOR_LABEL)
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
        setting = f", {diagnosis.evidence.setting.replace('_', ' ')}" if diagnosis.evidence.setting else ""
        set_title(ax, f"Differential diagnosis ({age}{setting})")
        if diagnosis.no_listed_condition is not None:  # the residual is no diagnosis: stated, not ranked
            ax.text(
                0.99, 0.01, f"no listed condition: {percent(diagnosis.no_listed_condition)}",
                transform=ax.transAxes, ha="right", va="bottom", fontsize=ANNOTATION_SIZE, color=COLORS["text"],
            )
        # below the axes, a fixed distance under the x label, with the note on what the prior is as its title
        from matplotlib.transforms import offset_copy

        age_text = diagnosis.evidence.age_bin.replace("_", " ") if diagnosis.evidence.age_bin else "age unknown"
        legend = ax.legend(
            loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=1, frameon=False,
            bbox_transform=offset_copy(ax.transAxes, fig=ax.figure, y=-44, units="points"),
            title=PRIOR_NOTE.format(age=age_text),
        )
        legend.get_title().set_fontsize(ANNOTATION_SIZE)
    return ax
