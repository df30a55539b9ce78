"""The model's structure as a graph: d-separation, for teaching conditional independence.

Two sets of variables X and Y are *d-separated* by a set Z when every trail
(path ignoring edge directions) between them is blocked by Z: a trail is
blocked when it passes through a chain ``a -> m -> b`` or a fork
``a <- m -> b`` whose middle ``m`` is in Z, or through a collider
``a -> m <- b`` such that neither ``m`` nor any of its descendants is in Z.
In every distribution that factorises over the graph (every choice of
tables), d-separation implies conditional independence; d-connection means
that dependence is possible (and holds for almost every choice of tables).

The test used here is the equivalent one of Lauritzen et al. (1990): X and Y
are d-separated by Z exactly when Z separates them in the moral graph of the
smallest ancestral set containing X, Y and Z.

References
----------
Pearl J. Probabilistic Reasoning in Intelligent Systems. Morgan Kaufmann,
1988, section 3.3.1.

Lauritzen SL, Dawid AP, Larsen BN, Leimer H-G. Independence properties of
directed Markov fields. Networks 1990;20(5):491-505.

Koller D, Friedman N. Probabilistic Graphical Models. MIT Press, 2009,
section 3.3.1 (d-separation) and algorithm 3.1 (reachable).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from .errors import EvidenceError

if TYPE_CHECKING:  # pragma: no cover
    import networkx as nx

    from .model import DiagnosticModel

__all__ = ["to_networkx", "d_separated"]


def to_networkx(model: DiagnosticModel) -> nx.DiGraph:
    """The model's structure as a networkx DiGraph (an edge from each parent to its child).

    Every node carries the attributes ``role`` (age, history, condition,
    finding or test) and ``label`` (the human label).

    Parameters
    ----------
    model : DiagnosticModel

    Returns
    -------
    networkx.DiGraph
        Nodes in the model's (topological) order.

    Examples
    --------
    >>> import omsbayes
    >>> from omsbayes.graph import to_networkx
    >>> g = to_networkx(omsbayes.load_model())
    >>> sorted(g.predecessors("oms"))
    ['age', 'neuroblastoma', 'recent_infection', 'systemic_cancer']
    """
    import networkx as nx

    graph = nx.DiGraph()
    for name in model.variables:
        graph.add_node(name, role=model.role(name), label=model.label(name))
    for name in model.variables:
        graph.add_edges_from((parent, name) for parent in model.parents(name))
    return graph


def _as_set(model: DiagnosticModel, names: str | Iterable[str], what: str) -> set[str]:
    items = [names] if isinstance(names, str) else list(names)
    for name in items:
        if not isinstance(name, str):
            raise EvidenceError(f"The {what} of d_separated must be variable names. Got {name!r} instead.")
        model._variable(name)  # raises EvidenceError with a did-you-mean for unknown names
    return set(items)


def d_separated(
    model: DiagnosticModel,
    x: str | Iterable[str],
    y: str | Iterable[str],
    given: str | Iterable[str] = (),
) -> bool:
    """Whether ``x`` and ``y`` are d-separated by ``given`` in the model's graph.

    Parameters
    ----------
    model : DiagnosticModel
    x, y : str or iterable of str
        A variable or a set of variables; they must not overlap with each
        other or with ``given``.
    given : str or iterable of str
        The observed variables (default: none).

    Returns
    -------
    bool
        True when every trail between ``x`` and ``y`` is blocked by ``given``:
        then ``x`` and ``y`` are conditionally independent given ``given``
        whatever the numbers in the tables. False when some trail is active,
        so that observing one can change the probability of the other.

    Raises
    ------
    EvidenceError
        For an unknown variable name or overlapping sets.

    References
    ----------
    Lauritzen SL, Dawid AP, Larsen BN, Leimer H-G. Independence properties of
    directed Markov fields. Networks 1990;20(5):491-505.

    Examples
    --------
    Neuroblastoma and a recent infection are independent causes of OMS; once
    OMS is known they compete to explain it (explaining away):

    >>> import omsbayes
    >>> model = omsbayes.load_model()
    >>> model.d_separated("recent_infection", "neuroblastoma", given=["age"])
    True
    >>> model.d_separated("recent_infection", "neuroblastoma", given=["age", "oms"])
    False
    """
    import networkx as nx

    xs = _as_set(model, x, "first set")
    ys = _as_set(model, y, "second set")
    zs = _as_set(model, given, "given set")
    overlap = (xs & ys) | (xs & zs) | (ys & zs)
    if overlap:
        raise EvidenceError(
            "The sets given to d_separated must not overlap; "
            f"{', '.join(sorted(overlap))} appears in more than one."
        )
    if not xs or not ys:
        raise EvidenceError("d_separated needs at least one variable on each side.")
    graph = to_networkx(model)
    keep = set(xs | ys | zs)
    for node in list(keep):
        keep |= nx.ancestors(graph, node)
    ancestral = graph.subgraph(keep)
    moral = nx.Graph(ancestral.to_undirected())
    for node in ancestral:
        parents = list(ancestral.predecessors(node))
        moral.add_edges_from((a, b) for i, a in enumerate(parents) for b in parents[i + 1 :])
    moral.remove_nodes_from(zs)
    reachable: set[str] = set()
    for start in xs:
        reachable |= nx.node_connected_component(moral, start)
    return not (reachable & ys)
