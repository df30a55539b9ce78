"""Plots of what-if scenarios and sweeps."""

from __future__ import annotations

import numpy as np

from .style import CYCLE, new_axes, set_title, style

__all__ = ["plot_what_if", "plot_sweep"]


def plot_what_if(result, ax=None, top: int = 6):
    """Grouped horizontal bars: the ``top`` conditions' posteriors in each scenario.

    Parameters
    ----------
    result : WhatIf
        A computed result.
    ax : matplotlib Axes, optional
    top : int
        Conditions shown: those with the highest posterior in any scenario.

    Returns
    -------
    matplotlib.axes.Axes
        One bar container per scenario (labelled with its name, the baseline
        first) whose bar widths are the posteriors of the shown conditions;
        y tick labels the conditions' labels.
    """
    table = result.table
    best = table.groupby("condition", sort=False)["posterior"].max().sort_values(ascending=False, kind="stable")
    shown = list(best.index[:top])[::-1]
    scenarios = list(dict.fromkeys(table["scenario"]))
    labels = table.drop_duplicates("condition").set_index("condition")["label"]
    with style():
        ax = new_axes(ax, figsize=(8.5, 0.35 * len(shown) * max(2, len(scenarios)) + 1.6))
        height = 0.8 / len(scenarios)
        y = np.arange(len(shown))
        for i, name in enumerate(scenarios):
            part = table[table["scenario"] == name].set_index("condition").loc[shown]
            offset = (len(scenarios) - 1) / 2 - i
            ax.barh(y + offset * height, part["posterior"], height, color=CYCLE[i % len(CYCLE)], label=name)
        ax.set_yticks(y)
        ax.set_yticklabels([labels[c] for c in shown])
        ax.set_xlim(0, 1.02)
        ax.set_xlabel("posterior probability of the condition")
        set_title(ax, "What-if scenarios")
        ax.legend(loc="lower right", frameon=False)
    return ax


def plot_sweep(sweep, ax=None, top: int = 6, conditions=None, xlabel: str | None = None):
    """One line per condition: its posterior along an age, parameter or evidence sweep.

    Parameters
    ----------
    sweep : Sweep
        A computed result.
    ax : matplotlib Axes, optional
    top : int
        Conditions shown when ``conditions`` is not given: those reaching the
        highest posterior anywhere along the sweep.
    conditions : list of str, optional
        The conditions to show.
    xlabel : str, optional
        The axis label of the swept quantity (default ``sweep.xlabel``). A
        parameter sweep names the parameter by its identifier; pass its
        description (``model.parameters.loc[name, "means"]``) for slides. The
        title of a parameter sweep follows it.

    Returns
    -------
    matplotlib.axes.Axes
        One line per condition, labelled with the condition's label, whose
        y data are its posteriors in sweep order. Categorical sweeps (age bins,
        evidence steps) use positions 0, 1, ... with the points as tick labels.
    """
    table = sweep.table
    if conditions is None:
        best = table.groupby("condition", sort=False)["posterior"].max().sort_values(ascending=False, kind="stable")
        conditions = list(best.index[:top])
    points = sweep.points
    categorical = sweep.x in ("age_bin", "point")
    x = np.arange(len(points)) if categorical else points[sweep.x].to_numpy(dtype=float)
    with style():
        ax = new_axes(ax, figsize=(11, 6.5 if sweep.kind == "trajectory" else 5))
        for i, cond in enumerate(conditions):
            part = table[table["condition"] == cond].sort_values("point")
            ax.plot(x, part["posterior"].to_numpy(), "-o", ms=3, color=CYCLE[i % len(CYCLE)], label=part["label"].iloc[0])
        if categorical:
            ax.set_xticks(x)
            if sweep.kind == "trajectory":
                ticks = [points["item_label"].iloc[0]] + [
                    f"+ {lab} = {obs}" for lab, obs in zip(points["item_label"].iloc[1:], points["observed"].iloc[1:])
                ]
                ax.set_xticklabels(ticks, rotation=35, ha="right")
            elif sweep.x == "age_bin" and "age_label" in points:
                ax.set_xticklabels(points["age_label"], rotation=25, ha="right")
            else:
                ax.set_xticklabels(points[sweep.x])
        if sweep.log_x:
            ax.set_xscale("log")
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel(sweep.xlabel if xlabel is None else xlabel)
        ax.set_ylabel("posterior probability")
        parameter_named = xlabel is not None and sweep.kind == "parameter"
        set_title(ax, f"Posterior against {xlabel}" if parameter_named else sweep.title)
        ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)  # beside the lines, never on them
    return ax
