"""Tornado plot of a :class:`~omsbayes.sensitivity.Sensitivity`."""

from __future__ import annotations

import numpy as np

from .style import ANNOTATION_SIZE, COLORS, new_axes, set_title, style

__all__ = ["plot_tornado", "VISIBLE_FRACTION"]

#: A bar narrower than this fraction of the widest swing shown is not visible: its row is left out.
VISIBLE_FRACTION = 0.01


def plot_tornado(sensitivity, ax=None, top: int = 15):
    """The ``top`` parameters by swing: the target's posterior at each end of their range.

    Each parameter gets two bars starting at the current posterior: one to the
    posterior with the parameter at the low end of its 95% uncertainty
    interval, one to the posterior at the high end. The parameter's value at
    that end is written beyond the bar end, inside the axes. Rows whose bars
    would not be visible (swing below :data:`VISIBLE_FRACTION` of the largest)
    are left out, and a note under the legend counts them. Nothing is
    computed here: the posteriors are the exact sensitivity functions
    evaluated in :func:`omsbayes.sensitivity.sensitivity`.

    Parameters
    ----------
    sensitivity : Sensitivity
        A computed result.
    ax : matplotlib Axes, optional
        Where to draw; a new figure when omitted.
    top : int
        At most this many parameters (largest swing at the top).

    Returns
    -------
    matplotlib.axes.Axes
        Two bar containers labelled ``"parameter at its low end"`` and
        ``"parameter at its high end"`` (bar ``i`` spans from the current
        posterior to ``posterior_low`` / ``posterior_high`` of the ``i``-th
        row drawn, top to bottom), y tick labels the parameters'
        descriptions (the table's ``label``, with the parameter's name added
        where two shown parameters share one).
    """
    from matplotlib.transforms import offset_copy

    head = sensitivity.table.head(top)
    widest = float(head["swing"].max()) if len(head) else 0.0
    visible = head[head["swing"] > VISIBLE_FRACTION * widest] if widest > 0 else head.iloc[:0]
    hidden = len(head) - len(visible)
    table = visible.iloc[::-1]
    p0 = sensitivity.posterior
    with style():
        ax = new_axes(ax, figsize=(9, 0.42 * max(len(table), 1) + 2.0))
        y = np.arange(len(table))
        low = ax.barh(
            y, table["posterior_low"] - p0, left=p0, height=0.6, color=COLORS["negative"], label="parameter at its low end"
        )
        high = ax.barh(
            y, table["posterior_high"] - p0, left=p0, height=0.6, color=COLORS["positive"], alpha=0.85,
            label="parameter at its high end",
        )
        texts = []
        for bars, values, ends in ((low, table["low"], table["posterior_low"]), (high, table["high"], table["posterior_high"])):
            for bar, value, end in zip(bars, values, ends):
                right = end > p0 or (end == p0 and bars is high)
                texts.append(
                    ax.text(
                        end,
                        bar.get_y() + bar.get_height() / 2,
                        f"  {value:.3g}  ",
                        va="center",
                        ha="left" if right else "right",
                        fontsize=ANNOTATION_SIZE,
                        color=COLORS["text"],
                    )
                )
        ax.axvline(p0, color=COLORS["text"], lw=1)
        ax.set_yticks(y)
        ax.set_yticklabels(_labels(table))
        ax.tick_params(axis="y", length=0)  # no tick marks beside the labels: nothing to read as a minus sign
        ax.set_xlabel(f"P({sensitivity.target_label} | evidence)")
        set_title(ax, f"Sensitivity of P({sensitivity.target_label}) = {p0:.3g} over each parameter's 95% range")
        note = "Numbers at the bar ends: the parameter's value there."
        if hidden or not len(table):
            shown = f"the other {hidden} of the top {len(head)}" if len(table) else f"all {len(head)} parameters"
            note += f"\nNot drawn: {shown} (they move P by less than {VISIBLE_FRACTION:.1%} of the largest swing)."
        # below the axes: the bars and their values fill the plot
        # anchored a fixed distance below the axes (points, not a fraction of its height): clear of the x label
        below = offset_copy(ax.transAxes, fig=ax.figure, y=-44, units="points")
        legend = ax.legend(
            loc="upper center", bbox_to_anchor=(0.5, 0.0), bbox_transform=below, ncol=2, frameon=False, title=note
        )
        legend.get_title().set_fontsize(ANNOTATION_SIZE)
        _fit_texts(ax, texts, p0)
    return ax


def _fit_texts(ax, texts, p0: float) -> None:
    """Widen the x range so that every value label lies inside the axes (off the labels and the spine).

    Text widths are in points, so they are measured on a drawn figure (after
    its layout), and measured again after each change of the x range.
    """
    lo = min([p0] + [t.get_position()[0] for t in texts])
    hi = max([p0] + [t.get_position()[0] for t in texts])
    pad = 0.02 * (hi - lo) if hi > lo else 0.05
    ax.set_xlim(lo - pad, hi + pad)
    if not texts:
        return
    fig = ax.figure
    for _ in range(4):
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        inverse = ax.transData.inverted()
        left, right = ax.get_xlim()
        for t in texts:
            box = t.get_window_extent(renderer)
            (x0, _), (x1, _) = inverse.transform([(box.x0 - 2, box.y0), (box.x1 + 2, box.y1)])  # 2 px clear
            left, right = min(left, x0), max(right, x1)
        if (left, right) == tuple(ax.get_xlim()):
            break
        ax.set_xlim(left, right)


def _labels(table) -> list[str]:
    """Each parameter's readable description, with its name where two shown parameters share one."""
    names = table["label"] if "label" in table else table["means"]
    counts = names.value_counts()
    return [m if counts[m] == 1 else f"{m} ({p})" for m, p in zip(names, table["parameter"])]
