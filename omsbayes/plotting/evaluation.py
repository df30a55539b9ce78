"""Reliability diagram of an :class:`~omsbayes.evaluation.Evaluation`."""

from __future__ import annotations

from .style import ANNOTATION_SIZE, COLORS, new_axes, set_title, style

__all__ = ["plot_calibration"]


def plot_calibration(evaluation, ax=None):
    """Observed frequency against mean predicted probability, per bin.

    Parameters
    ----------
    evaluation : Evaluation
        A computed evaluation.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
        The diagonal (``"perfect calibration"``) and one marker line
        (``"model"``) whose points are the bins; marker size grows with the
        number of (case, condition) pairs in the bin, and each point is
        labelled with that count (``n=...``).
    """
    cal = evaluation.calibration
    with style():
        ax = new_axes(ax, figsize=(5.5, 5))
        ax.plot([0, 1], [0, 1], ls="--", color=COLORS["prior"], label="perfect calibration")
        ax.plot(cal["mean_predicted"], cal["observed"], "-", color=COLORS["posterior"], label="model")
        ax.scatter(cal["mean_predicted"], cal["observed"], s=20 + 4 * cal["n"], color=COLORS["posterior"], zorder=3)
        for i, (_, row) in enumerate(cal.iterrows()):
            # below a point near the top and above one near the bottom (inside the axes); otherwise
            # alternately below and above, so that the counts of neighbouring bins do not collide
            if row["observed"] > 0.85:
                dy = -14
            elif row["observed"] < 0.15:
                dy = 8
            else:
                dy = -14 if i % 2 == 0 else 8
            ax.annotate(
                f"n={int(row['n'])}", (row["mean_predicted"], row["observed"]), textcoords="offset points",
                xytext=(6, dy), fontsize=ANNOTATION_SIZE,
            )
        ax.set_xlim(-0.02, 1.02)
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel("mean predicted probability")
        ax.set_ylabel("observed frequency")
        s = evaluation.summary
        set_title(ax, f"Calibration (Brier {s['brier']:.3f}, {int(s['n'])} cases)")
        ax.legend(loc="lower right", frameon=False)  # the upper left holds low-probability bins that came true
    return ax
