"""The network drawn without Graphviz: variables in rows by role, arrows from parents to children.

:func:`network_layout` computes the positions (no matplotlib needed; the XDSL
export uses them too); :func:`plot_network` only draws them, optionally
coloured by a computed :class:`~omsbayes.diagnosis.Diagnosis`.
"""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING

import numpy as np

from ..errors import OmsBayesError
from .style import ANNOTATION_SIZE, COLORS, new_axes, percent, set_title, style

if TYPE_CHECKING:  # pragma: no cover
    from ..diagnosis import Diagnosis
    from ..model import DiagnosticModel

__all__ = ["network_rows", "network_layout", "plot_network", "binary_entropy", "node_cmap", "ROW_NAMES", "ROLE_COLORS"]

#: The rows of the drawing, top to bottom.
ROW_NAMES = ("age, history and causes", "conditions", "findings", "tests")

#: Node colour of each role (when not coloured by a diagnosis).
ROLE_COLORS = {
    "age": COLORS["prior"],
    "history": COLORS["accent"],
    "condition": COLORS["posterior"],
    "finding": COLORS["positive"],
    "test": COLORS["negative"],
}

#: Rows with more nodes than this alternate up and down, so that labels do not touch.
_STAGGER_ABOVE = 12
_STAGGER = 0.2
_AGE_RISE = 0.45
_NODE_SIZE = 220
_COLOR_BY = ("role", "posterior", "entropy")


class PlotError(OmsBayesError, ValueError):
    """Arguments a plot function cannot draw."""


def network_rows(model: DiagnosticModel) -> dict[str, list[str]]:
    """The variables of each row of the drawing (``ROW_NAMES``, empty rows left out), left to right.

    The top row holds age, the history items and the causes (conditions that
    are parents of another condition, such as neuroblastoma); then the other
    conditions, the findings and the tests. Below the top row, each row is
    ordered by the mean position of each variable's parents above it
    (barycentre ordering), which uncrosses most arrows; ties keep file order.
    """
    names = model.variables
    conditions = [v for v in names if model.role(v) == "condition"]
    causes = {p for c in conditions for p in model.parents(c) if model.role(p) == "condition"}
    top = (
        [v for v in names if model.role(v) == "age"]
        + [v for v in names if model.role(v) == "history"]
        + [v for v in conditions if v in causes]
    )
    rows = [
        top,
        [v for v in conditions if v not in causes],
        [v for v in names if model.role(v) == "finding"],
        [v for v in names if model.role(v) == "test"],
    ]
    x: dict[str, float] = {}
    ordered: dict[str, list[str]] = {}
    for row_name, row in zip(ROW_NAMES, rows):
        if not row:
            continue
        if ordered:

            def barycentre(v, row=row):
                above = [x[p] for p in model.parents(v) if p in x]
                return (float(np.mean(above)) if above else 0.5, row.index(v))

            row = sorted(row, key=barycentre)
        x.update({v: (i + 0.5) / len(row) for i, v in enumerate(row)})
        ordered[row_name] = row
    return ordered


def network_layout(model: DiagnosticModel) -> dict[str, tuple[float, float]]:
    """The position of every variable: ``name -> (x, y)``.

    ``x`` lies in (0, 1) (each row spread over the whole width), ``y`` is
    ``-row`` (the top row at 0), shifted by ±0.2 on alternate nodes of rows
    with more than 12 variables so that their labels have room. Age, a parent
    of most variables, sits centred above the top row, so that its arrows to
    that row do not run along it.
    """
    positions = {}
    for r, row in enumerate(network_rows(model).values()):
        placed = [v for v in row if model.role(v) != "age"] if r == 0 else row
        stagger = len(placed) > _STAGGER_ABOVE
        for i, name in enumerate(placed):
            dy = (_STAGGER if i % 2 == 0 else -_STAGGER) if stagger else 0.0
            positions[name] = ((i + 0.5) / len(placed), -float(r) + dy)
    ages = [v for v in model.variables if model.role(v) == "age"]
    for i, name in enumerate(ages):
        positions[name] = ((i + 0.5) / len(ages), _AGE_RISE)
    return positions


def binary_entropy(p) -> np.ndarray:
    """Entropy in bits of a two-state variable with P(present) = ``p`` (0 at 0 and 1, 1 at 0.5)."""
    p = np.clip(np.asarray(p, dtype=float), 0.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = -(p * np.log2(p)) - (1.0 - p) * np.log2(1.0 - p)
    return np.nan_to_num(terms, nan=0.0)


def node_cmap(color_by: str):
    """The colour map of nodes coloured by ``"posterior"`` (white to blue) or ``"entropy"`` (white to vermilion)."""
    from matplotlib.colors import LinearSegmentedColormap

    high = COLORS["posterior"] if color_by == "posterior" else COLORS["highlight"]
    return LinearSegmentedColormap.from_list(color_by, ["#FFFFFF", high])


def _node_values(model: DiagnosticModel, color_by: str, diagnosis: Diagnosis | None) -> dict[str, float]:
    if color_by == "role":
        return {}
    posterior = diagnosis.posterior
    unknown = [c for c in posterior.index if c not in model.state_map]
    if unknown:
        raise PlotError(
            f"The diagnosis given to plot_network has conditions the model lacks ({', '.join(unknown)}); "
            "draw it with the model that computed it."
        )
    values = posterior.astype(float)
    if color_by == "entropy":
        values = values.map(lambda p: float(binary_entropy(p)))
    return values.to_dict()


def plot_network(
    model: DiagnosticModel,
    ax=None,
    color_by: str | None = None,
    diagnosis: Diagnosis | None = None,
):
    """Draw the network: one node per variable in rows by role, one arrow per parent.

    Parameters
    ----------
    model : DiagnosticModel
    ax : matplotlib Axes, optional
        Where to draw; a new 20 x 12 inch figure when omitted.
    color_by : {"role", "posterior", "entropy"}, optional
        ``"role"`` (default without a diagnosis) colours nodes by role;
        ``"posterior"`` (default with one) colours each condition by its
        posterior probability, ``"entropy"`` by the binary entropy of it
        (bits; 1 = most uncertain). Other nodes are then white, and the
        observed ones outlined.
    diagnosis : Diagnosis, optional
        A computed result of ``model.diagnose``; nothing is computed here.

    Returns
    -------
    matplotlib.axes.Axes
        Nodes are one PathCollection (gid ``"nodes"``) in ``model.variables``
        order; each node has one text, its label (with the posterior or
        entropy of a condition when coloured by a diagnosis); each edge is a
        FancyArrowPatch.

    Raises
    ------
    PlotError
        For an unknown ``color_by``, or ``"posterior"`` / ``"entropy"``
        without a diagnosis.

    See Also
    --------
    network_layout : the positions.

    Examples
    --------
    >>> import omsbayes
    >>> from omsbayes.plotting import plot_network
    >>> model = omsbayes.load_model()
    >>> ax = plot_network(model, diagnosis=model.diagnose({"opsoclonus": "present"}, age=1.5))
    """
    if color_by is None:
        color_by = "role" if diagnosis is None else "posterior"
    if color_by not in _COLOR_BY:
        raise PlotError(
            f"The 'color_by' parameter of plot_network must be one of {', '.join(map(repr, _COLOR_BY))}. "
            f"Got {color_by!r} instead."
        )
    if color_by != "role" and diagnosis is None:
        raise PlotError(
            f"plot_network needs a diagnosis to colour nodes by {color_by}; pass diagnosis=model.diagnose(...)."
        )
    import networkx as nx
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    names = model.variables
    rows = network_rows(model)
    positions = network_layout(model)
    values = _node_values(model, color_by, diagnosis)
    observed = set(diagnosis.evidence.hard) | set(diagnosis.evidence.soft) if diagnosis is not None else set()
    cmap = node_cmap(color_by)
    norm = Normalize(0.0, 1.0)
    if color_by == "role":
        faces = [ROLE_COLORS[model.role(v)] for v in names]
    else:
        faces = [cmap(norm(values[v])) if v in values else "#FFFFFF" for v in names]
    edges = [COLORS["text"] if v in observed else COLORS["prior"] for v in names]
    widths = [2.2 if v in observed else 0.8 for v in names]

    graph = nx.DiGraph()
    graph.add_nodes_from(names)
    graph.add_edges_from((p, v) for v in names for p in model.parents(v))
    same_row = [(p, v) for p, v in graph.edges if positions[p][1] == positions[v][1]]
    across = [e for e in graph.edges if e not in set(same_row)]

    with style():
        ax = new_axes(ax, figsize=(20, 12))
        xy = np.array([positions[v] for v in names])
        for edgelist, connection in ((across, "arc3"), (same_row, "arc3,rad=-0.35")):
            nx.draw_networkx_edges(
                graph,
                positions,
                edgelist=edgelist,
                ax=ax,
                node_size=_NODE_SIZE,
                arrows=True,
                arrowstyle="-|>",
                arrowsize=6,
                width=0.5,
                edge_color=COLORS["prior"],
                alpha=0.6,
                connectionstyle=connection,
            )
        nodes = ax.scatter(xy[:, 0], xy[:, 1], s=_NODE_SIZE, c=faces, edgecolors=edges, linewidths=widths, zorder=3)
        nodes.set_gid("nodes")
        for v, (x, y) in zip(names, xy):
            label = "\n".join(textwrap.wrap(model.label(v), 14, break_long_words=False, break_on_hyphens=False))
            if v in values:
                label += "\n" + (percent(values[v]) if color_by == "posterior" else f"H = {values[v]:.2f}")
            ax.text(
                x, y - 0.07, label, ha="center", va="top", fontsize=ANNOTATION_SIZE, color=COLORS["text"], zorder=4, gid=v
            )
        for r, row_name in enumerate(rows):
            ax.text(
                -0.01, -r, row_name, ha="right", va="center", fontsize=ANNOTATION_SIZE, style="italic", color=COLORS["text"]
            )
        scale = {"posterior": "posterior probability", "entropy": "entropy of the posterior (bits)"}.get(color_by)
        if color_by == "role":
            for role, color in ROLE_COLORS.items():
                ax.scatter([], [], s=_NODE_SIZE, c=color, edgecolors=COLORS["prior"], label=role)
            ax.legend(
                loc="upper center", frameon=False, fontsize=ANNOTATION_SIZE, ncol=len(ROLE_COLORS), bbox_to_anchor=(0.5, 0.0)
            )
        else:
            ax.figure.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=ax, shrink=0.5, pad=0.01, label=scale)
        ax.set_xlim(-0.12, 1.01)
        ax.set_ylim(-len(rows) + 0.45, _AGE_RISE + 0.2)
        ax.set_axis_off()
        title = f"{model.name} {model.version}: {len(names)} variables, {graph.number_of_edges()} arrows"
        if scale is not None:
            title += f", coloured by {scale}"
        set_title(ax, title)
    return ax
