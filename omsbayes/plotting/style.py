"""One place for the look of every omsbayes plot: colours, fonts, sizes.

Plots are drawn for slides as well as notebooks, so text is large and the
palette is colour-blind safe (Okabe-Ito).
"""

from __future__ import annotations

from contextlib import contextmanager

__all__ = [
    "COLORS",
    "FONT_SIZE",
    "LABEL_SIZE",
    "TITLE_SIZE",
    "ANNOTATION_SIZE",
    "MIN_FONT_SIZE",
    "style",
    "new_axes",
    "require_matplotlib",
    "percent",
    "set_title",
    "TITLE_WIDTH",
]

#: Okabe-Ito colour-blind-safe palette, named by role.
COLORS = {
    "prior": "#BBBBBB",
    "posterior": "#0072B2",
    "highlight": "#D55E00",
    "positive": "#009E73",
    "negative": "#CC79A7",
    "neutral": "#56B4E9",
    "accent": "#E69F00",
    "text": "#222222",
    "grid": "#E5E5E5",
}
#: Cycle for lines of several conditions.
CYCLE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]

FONT_SIZE = 11
LABEL_SIZE = 12
TITLE_SIZE = 13
#: Values written on bars and points, legends of many entries.
ANNOTATION_SIZE = 10
#: Titles longer than this many characters are wrapped, so that they fit above a narrow plot.
TITLE_WIDTH = 60
#: No text of a plot is smaller than this (points), so that it stays readable on a slide.
MIN_FONT_SIZE = 10

_RC = {
    "font.size": FONT_SIZE,
    "axes.titlesize": TITLE_SIZE,
    "axes.labelsize": LABEL_SIZE,
    "xtick.labelsize": FONT_SIZE,
    "ytick.labelsize": FONT_SIZE,
    "legend.fontsize": ANNOTATION_SIZE,
    "text.color": COLORS["text"],
    "axes.labelcolor": COLORS["text"],
    "xtick.color": COLORS["text"],
    "ytick.color": COLORS["text"],
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.edgecolor": "#444444",
    "axes.grid": False,
    "figure.dpi": 100,
    "savefig.dpi": 150,
    "savefig.bbox": "tight",
    "axes.prop_cycle": None,  # filled in style()
}


def require_matplotlib():
    """Import matplotlib.pyplot, with an install hint if it is missing."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - matplotlib is a dependency
        raise ImportError("Plotting needs matplotlib: python -m pip install matplotlib") from exc
    return plt


@contextmanager
def style():
    """Context manager applying the omsbayes matplotlib style."""
    plt = require_matplotlib()
    from cycler import cycler

    rc = dict(_RC)
    rc["axes.prop_cycle"] = cycler(color=CYCLE)
    with plt.rc_context(rc):
        yield


def new_axes(ax=None, figsize=(8, 5)):
    """Return ``ax``, or a new Axes of ``figsize`` (inches) when it is None.

    A new figure uses matplotlib's constrained layout, so that long tick
    labels (condition names, parameter descriptions) are never cut off, also
    when the figure is saved without ``bbox_inches="tight"``.
    """
    plt = require_matplotlib()
    if ax is not None:
        return ax
    _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def percent(p: float) -> str:
    """A probability as a percentage label, never rounded to 0% or 100% unless it is exactly that.

    Two significant digits below 1% (``0.42%``, ``0.00014%``), whole percents
    in the middle, one decimal near certainty (``99.5%``) and ``>99.9%`` above
    that: 0.9995 is not shown as 100%, nor 3e-5 as 0%.
    """
    p = float(p)
    if p <= 0.0 or p >= 1.0:
        return f"{100 * min(max(p, 0.0), 1.0):.0f}%"
    if p < 1e-9:
        return "<0.0000001%"
    if p < 0.01:
        import math

        decimals = 1 - math.floor(math.log10(100 * p))  # two significant digits, in fixed notation
        return f"{100 * p:.{decimals}f}%"
    if 1.0 - p < 0.001:
        return ">99.9%"
    if p >= 0.99 or p < 0.1:
        return f"{100 * p:.1f}%"
    return f"{100 * p:.0f}%"


def set_title(ax, text: str) -> None:
    """Set the Axes title, wrapped at :data:`TITLE_WIDTH` characters into lines of even length.

    Long labels make plots narrow, so a long title is wrapped; its lines are
    balanced, so that no word is left alone on the last line.
    """
    import math
    import textwrap

    lines = textwrap.wrap(text, TITLE_WIDTH)
    if len(lines) > 1:
        for width in range(math.ceil(len(text) / len(lines)), TITLE_WIDTH + 1):
            balanced = textwrap.wrap(text, width)
            if len(balanced) == len(lines):
                lines = balanced
                break
    ax.set_title("\n".join(lines) or text)
