"""Frequency tree of a :class:`~omsbayes.frequencies.NaturalFrequencies`."""

from __future__ import annotations

import textwrap

import numpy as np

from .style import ANNOTATION_SIZE, COLORS, FONT_SIZE, new_axes, percent, set_title, style

__all__ = ["plot_frequency_tree"]


def plot_frequency_tree(freq, ax=None, split_by: str | None = None):
    """The population split by one variable, then each branch by the other, as expected counts.

    The leaf whose states are both the last (``present``/``positive``) is
    highlighted, and each leaf shows the share it is of its branch: with
    ``split_by="neuroblastoma"`` that share is P(OMS | neuroblastoma), with
    ``split_by="oms"`` it is P(neuroblastoma | OMS), and both leaves hold the
    same people.

    Parameters
    ----------
    freq : NaturalFrequencies
        A computed result; nothing is computed here but shares of its counts.
    ax : matplotlib Axes, optional
    split_by : str, optional
        The variable of the first split (default ``freq.first``).

    Returns
    -------
    matplotlib.axes.Axes
        One text per node: the root ``"<population> <who>"``, then
        ``"<count> <label>: <state>"`` for each branch and leaf, leaves ending
        with ``"(<share> of them)"``; one line per edge (its data run from
        parent to child). Texts of highlighted nodes have the highlight
        colour as box edge.
    """
    from ..errors import EvidenceError

    split_by = freq.first if split_by is None else split_by
    counts = freq.counts
    if split_by == freq.second:
        counts = counts.T
        outer_label, inner_label = freq.second_label, freq.first_label
    elif split_by == freq.first:
        outer_label, inner_label = freq.first_label, freq.second_label
    else:
        raise EvidenceError(
            f"split_by of plot_frequency_tree must be {freq.first!r} or {freq.second!r}. Got {split_by!r} instead."
        )
    from ..frequencies import format_count

    outer_states, inner_states = list(counts.index), list(counts.columns)
    n_leaves = len(outer_states) * len(inner_states)
    leaf_y = np.arange(n_leaves)[::-1].astype(float)
    with style():
        ax = new_axes(ax, figsize=(10, 0.95 * n_leaves + 1.0))
        box = {"boxstyle": "round,pad=0.35", "facecolor": "white", "edgecolor": COLORS["prior"]}
        hot = dict(box, edgecolor=COLORS["highlight"], linewidth=2)
        root_y = float(leaf_y.mean())
        root = ax.text(
            _X[0], root_y, f"{freq.population:,}\n{textwrap.fill(freq.who, 22)}", ha="center", va="center",
            bbox=box, fontsize=FONT_SIZE,
        )
        for i, outer in enumerate(outer_states):
            ys = leaf_y[i * len(inner_states) : (i + 1) * len(inner_states)]
            branch = float(counts.loc[outer].sum())
            last_outer = i == len(outer_states) - 1
            node = _node(ax, root, (_X[1], float(ys.mean())), f"{format_count(branch)}\n"
                         + textwrap.fill(f"{outer_label}: {outer}", 24), hot if last_outer else box, "center")
            for j, inner in enumerate(inner_states):
                count = float(counts.loc[outer, inner])
                share = _share(count / branch) if branch > 0 else "-"
                highlighted = last_outer and j == len(inner_states) - 1
                _node(ax, node, (_X[2], float(ys[j])), f"{format_count(count)}  {inner_label}: {inner}  ({share} of them)",
                      hot if highlighted else box, "left", COLORS["highlight"] if highlighted else COLORS["text"])
        ax.set_xlim(-1.1, 7.2)
        ax.set_ylim(leaf_y.min() - 0.7, leaf_y.max() + 0.7)
        ax.set_axis_off()
        set_title(ax, f"Split by {outer_label} first")
    return ax


#: x positions of the root, the branches and the leaves (data units; leaves are left-aligned).
_X = (0.0, 2.4, 3.9)


def _node(ax, parent, xy, text, bbox, ha, color=None):
    """A node: text in a box, joined to its parent's box by a line clipped at both boxes."""
    edge = bbox["edgecolor"]
    return ax.annotate(
        text, xy=parent.get_position(), xytext=xy, ha=ha, va="center", fontsize=ANNOTATION_SIZE, bbox=bbox,
        color=color or COLORS["text"],
        arrowprops={"arrowstyle": "-", "color": edge, "lw": 1.5, "patchB": parent.get_bbox_patch(), "shrinkA": 0, "shrinkB": 0,
                    "relpos": (0.0, 0.5)},
    )


def _share(p: float) -> str:
    """A share of a branch: like :func:`percent`, but never rounds a share below 100% up to it."""
    if 0.999 < p < 1:
        return ">99.9%"
    return percent(p)
