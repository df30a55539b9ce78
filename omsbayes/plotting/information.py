"""Plots of evidence impact and value of information."""

from __future__ import annotations

import numpy as np

from .style import ANNOTATION_SIZE, COLORS, new_axes, set_title, style

__all__ = ["plot_evidence_impact", "plot_value_of_information"]

_MEASURES = {
    "expected_entropy_reduction": "expected entropy reduction (bits)",
    "expected_abs_change_top": "expected |change| of P(top)",
    "p_top_changes": "P(result changes the top diagnosis)",
    "expected_abs_log_odds_change": "expected |change| of log-odds top vs runner-up",
    "expected_log_odds_change": "expected change of log-odds top vs runner-up",
}


def plot_evidence_impact(impact, ax=None):
    """Waterfall-style bars: what each item does to the posterior of the top condition.

    Each item's bar floats from P(top | all evidence but the item) to
    P(top | all evidence), green when the item raises it, pink when it lowers
    it; the vertical line is P(top | all evidence) and the text the item's
    likelihood ratio for the top condition versus the runner-up.

    Parameters
    ----------
    impact : EvidenceImpact
        A computed result.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
        One bar container: bar ``i`` has ``left = p_top_without`` and
        ``width = p_top_with - p_top_without`` of summary row ``i`` (largest
        |log LR| at the top); y tick labels ``"<item label> = <observed>"``.
    """
    summary = impact.summary.iloc[::-1]
    with style():
        ax = new_axes(ax, figsize=(8.5, 0.5 * len(summary) + 1.8))
        y = np.arange(len(summary))
        delta = summary["p_top_with"] - summary["p_top_without"]
        colors = [COLORS["positive"] if d >= 0 else COLORS["negative"] for d in delta]
        bars = ax.barh(y, delta, left=summary["p_top_without"], height=0.6, color=colors)
        for bar, lr in zip(bars, summary["lr"]):
            x = max(bar.get_x(), bar.get_x() + bar.get_width())
            ax.text(x, bar.get_y() + bar.get_height() / 2, f"  LR {lr:.3g}", va="center", fontsize=ANNOTATION_SIZE, color=COLORS["text"])
        ax.axvline(summary["p_top_with"].iloc[0] if len(summary) else 0, color=COLORS["text"], lw=1)
        ax.set_yticks(y)
        ax.set_yticklabels([f"{lab} = {obs}" for lab, obs in zip(summary["item_label"], summary["observed"])])
        ax.set_xlim(0, 1.15)
        ax.set_xlabel(f"P({impact.top_label} | evidence): without the item -> with it")
        set_title(ax, f"Evidence impact ({impact.top_label} vs {impact.runner_up_label})")
    return ax


def plot_value_of_information(voi, ax=None, top: int = 12, measure: str = "expected_entropy_reduction"):
    """Bars of the ``top`` candidates by a value-of-information measure ("which test next").

    Parameters
    ----------
    voi : ValueOfInformation
        A computed result.
    ax : matplotlib Axes, optional
    top : int
        How many candidates to show.
    measure : str
        A column of ``voi.table``: ``expected_entropy_reduction`` (default),
        ``expected_abs_change_top``, ``p_top_changes``,
        ``expected_abs_log_odds_change`` or ``expected_log_odds_change``.

    Returns
    -------
    matplotlib.axes.Axes
        One bar container whose bar widths are the measure of the ``top``
        candidates with the largest measure (largest at the top); y tick
        labels the candidates' labels.
    """
    if measure not in _MEASURES:
        from ..errors import EvidenceError, did_you_mean

        raise EvidenceError(
            f"The measure of plot_value_of_information must be one of {sorted(_MEASURES)}. Got {measure!r} instead."
            + did_you_mean(str(measure), _MEASURES)
        )
    table = voi.table.sort_values(measure, ascending=False, kind="stable").head(top).iloc[::-1]
    with style():
        ax = new_axes(ax, figsize=(8, 0.42 * len(table) + 1.6))
        y = np.arange(len(table))
        colors = [COLORS["accent"] if role == "test" else COLORS["posterior"] for role in table["role"]]
        bars = ax.barh(y, table[measure], height=0.6, color=colors)
        for bar, value in zip(bars, table[measure]):
            ax.text(bar.get_width(), bar.get_y() + bar.get_height() / 2, f" {value:.3g}", va="center", fontsize=ANNOTATION_SIZE, color=COLORS["text"])
        ax.set_yticks(y)
        ax.set_yticklabels(table["label"])
        ax.set_xlabel(_MEASURES[measure])
        from matplotlib.patches import Patch

        kinds = [Patch(color=COLORS["posterior"], label="finding"), Patch(color=COLORS["accent"], label="test")]
        ax.legend(handles=kinds, loc="lower right", frameon=False)
        set_title(ax, "Which finding or test next?")
        ax.margins(x=0.15)
    return ax
