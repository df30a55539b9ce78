"""The one place omsbayes talks to pgmpy.

pgmpy represents the model (``to_pgmpy``), reads and writes exchange formats
(``write_network``, ``read_network_tables``), and answers queries with
VariableElimination as the reference against which the compiled engine is
checked. Evidence is validated before it gets here.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from ..model import DiagnosticModel

__all__ = [
    "import_pgmpy",
    "to_pgmpy",
    "pgmpy_query",
    "pgmpy_version",
    "from_pgmpy_tables",
    "EXCHANGE_FORMATS",
    "write_network",
    "read_network_tables",
]


def import_pgmpy():
    """Import pgmpy quietly.

    pgmpy 1.1 warns at import that ``pgmpy.estimators.StructureScore`` is
    deprecated (a FutureWarning about its own internals); that one warning is
    filtered here so that test runs with warnings as errors stay clean.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*StructureScore.*", category=FutureWarning)
        import pgmpy
        import pgmpy.factors.discrete
        import pgmpy.inference
        import pgmpy.models
    return pgmpy


def pgmpy_version() -> str:
    """The installed pgmpy version."""
    return import_pgmpy().__version__


def to_pgmpy(model: DiagnosticModel):
    """Build a pgmpy ``DiscreteBayesianNetwork`` with every table and state name.

    Parameters
    ----------
    model : DiagnosticModel

    Returns
    -------
    pgmpy.models.DiscreteBayesianNetwork
    """
    pgmpy = import_pgmpy()
    network = pgmpy.models.DiscreteBayesianNetwork()
    network.add_nodes_from(model.variables)
    for name in model.variables:
        for parent in model.parents(name):
            network.add_edge(parent, name)
    cpds = []
    for name in model.variables:
        parents = list(model.parents(name))
        cpt = model.tables[name]
        states = model.states(name)
        cpds.append(
            pgmpy.factors.discrete.TabularCPD(
                variable=name,
                variable_card=len(states),
                values=np.ascontiguousarray(cpt.reshape(len(states), -1)),
                evidence=parents or None,
                evidence_card=[len(model.states(p)) for p in parents] or None,
                state_names={v: list(model.states(v)) for v in [name, *parents]},
            )
        )
    network.add_cpds(*cpds)
    return network


def from_pgmpy_tables(network) -> dict[str, tuple[tuple[str, ...], tuple[str, ...], np.ndarray]]:
    """Tables of a pgmpy network as ``name -> (states, parents, array[state, *parents])``."""
    out = {}
    for cpd in network.get_cpds():
        name = cpd.variable
        parents = tuple(cpd.variables[1:])
        states = tuple(cpd.state_names[name])
        out[name] = (states, parents, np.asarray(cpd.values, dtype=float))
    return out


def pgmpy_query(
    model: DiagnosticModel,
    variables: Iterable[str],
    hard: Mapping[str, str],
    soft: Mapping[str, np.ndarray] | None = None,
    network=None,
) -> dict[str, np.ndarray]:
    """Posterior of each variable with pgmpy's VariableElimination.

    Parameters
    ----------
    model : DiagnosticModel
    variables : iterable of str
        Query variables (not observed).
    hard : mapping
        Variable -> observed state.
    soft : mapping, optional
        Variable -> likelihood vector (virtual evidence).
    network : DiscreteBayesianNetwork, optional
        A network from :func:`to_pgmpy` to reuse.

    Returns
    -------
    dict of str -> numpy.ndarray
        Normalised posterior over each variable's states.
    """
    pgmpy = import_pgmpy()
    network = to_pgmpy(model) if network is None else network
    virtual = None
    if soft:
        virtual = []
        for var, vec in soft.items():
            vec = np.asarray(vec, dtype=float)
            virtual.append(
                pgmpy.factors.discrete.TabularCPD(
                    var, len(vec), (vec / vec.max()).reshape(-1, 1), state_names={var: list(model.states(var))}
                )
            )
    # A fresh inference object per call: pgmpy adds hidden nodes for virtual evidence.
    inference = pgmpy.inference.VariableElimination(network)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = inference.query(
            variables=list(variables),
            evidence=dict(hard) or None,
            virtual_evidence=virtual,
            joint=False,
            show_progress=False,
        )
    out = {}
    for var, factor in result.items():
        order = [factor.state_names[var].index(s) for s in model.states(var)]
        out[var] = np.asarray(factor.values, dtype=float)[order]
    return out


# ---------------------------------------------------------------------------
# exchange formats
# ---------------------------------------------------------------------------
#: The exchange formats written with pgmpy's writers, by the names omsbayes uses.
EXCHANGE_FORMATS = ("bif", "xmlbif", "net", "uai", "xdsl")

#: GeNIe draws a node as a box of this size (pixels) at its XDSL position.
_XDSL_NODE = (72, 48)


def _shortest(x) -> str:
    """The shortest decimal that reads back as the same double (``repr``: 5.8e-05)."""
    return repr(float(x))


def _positional(x) -> str:
    """The shortest decimal that reads back as the same double, without an exponent (0.000058)."""
    return np.format_float_positional(float(x), unique=True, trim="0")


def _nested(values: np.ndarray, depth: int = 0) -> str:
    """A Hugin NET potential: parentheses nest over the parents; the innermost list is the child's states."""
    if values.ndim == 1:
        return "(" + " ".join(_shortest(x) for x in values) + ")"
    joiner = "\n        " if depth == 0 else " "
    return "(" + joiner.join(_nested(sub, depth + 1) for sub in values) + ")"


@functools.cache
def _exchange_classes() -> dict[str, tuple[type, type]]:
    """pgmpy's writer and reader of each format, mended where pgmpy 1.1.2 loses numbers or time.

    * NET: ``NETWriter`` rounds every probability to 8 decimals; ``NETReader``
      scans the whole file again for each variable's states (minutes for this
      model). The subclasses write shortest round-trip decimals and scan once.
    * XDSL: ``XDSLWriter`` writes ``%.16f`` (nine significant digits at 1e-7)
      and random node positions; the subclass writes shortest round-trip
      decimals and a given layout.
    * UAI: ``UAIWriter`` lists each table child-major under a scope that ends
      with the child, where the UAI format wants the last scope variable to
      change fastest, and writes exponents (5.8e-05) that ``UAIReader``
      cannot parse. The subclass writes the format's order in positional
      decimals; :func:`_read_uai` reads it back (``UAIReader.get_model``
      takes each table's parent order from a set, so it is not used).
    * BIF and XMLBIF are written as pgmpy writes them: shortest round-trip
      decimals already.
    """
    import_pgmpy()
    from pgmpy.readwrite import (
        BIFReader,
        BIFWriter,
        NETReader,
        NETWriter,
        UAIWriter,
        XDSLReader,
        XDSLWriter,
        XMLBIFReader,
        XMLBIFWriter,
    )

    class FullNETWriter(NETWriter):
        def net_cpd(self, var_name):
            return _nested(np.moveaxis(np.asarray(self.tables[var_name], dtype=float), 0, -1))

    class OnePassNETReader(NETReader):
        def get_states(self):
            found = list(self.state_expr.scan_string(self.network))
            return {
                name: [state.replace('"', "") for state in found[i][0].statenames]
                for i, name in enumerate(self.variable_names)
            }

    class FullXDSLWriter(XDSLWriter):
        def __init__(self, model, layout, **kwargs):
            self._layout = layout
            super().__init__(model, **kwargs)

        def get_cpds(self):
            cpds = super().get_cpds()
            for var, cpd in cpds.items():
                flat = np.asarray(cpd.get_values(), dtype=float).ravel(order="F")  # per parent configuration
                self.variables[var].find("probabilities").text = " ".join(_shortest(x) for x in flat)
            return cpds

        def _create_extensions(self):
            super()._create_extensions()
            width, height = _XDSL_NODE
            for node in self.root.iter("node"):
                x, y = self._layout[node.get("id")]
                node.find("position").text = f"{x} {y} {x + width} {y + height}"

    class SpecUAIWriter(UAIWriter):
        def _order(self) -> list[str]:
            # the variable order UAIWriter.__str__ writes the cardinalities in
            return [name for name, _ in sorted(self.domain.items(), key=lambda x: (x[1], x[0]))]

        def _ordered_cpds(self):
            order = self._order()
            return sorted(self.model.get_cpds(), key=lambda cpd: order.index(cpd.variable))

        def get_functions(self):
            order = self._order()
            return [[str(order.index(v)) for v in (*cpd.variables[1:], cpd.variable)] for cpd in self._ordered_cpds()]

        def get_tables(self):
            return [
                [_positional(x) for x in np.moveaxis(np.asarray(cpd.values, dtype=float), 0, -1).ravel()]
                for cpd in self._ordered_cpds()
            ]

    return {
        "bif": (BIFWriter, BIFReader),
        "xmlbif": (XMLBIFWriter, XMLBIFReader),
        "net": (FullNETWriter, OnePassNETReader),
        "uai": (SpecUAIWriter, None),
        "xdsl": (FullXDSLWriter, XDSLReader),
    }


def write_network(model: DiagnosticModel, path, fmt: str, layout: Mapping[str, tuple[int, int]] | None = None) -> None:
    """Write the model in an exchange format with pgmpy's writer for it.

    Parameters
    ----------
    model : DiagnosticModel
    path : str or Path
    fmt : {"bif", "xmlbif", "net", "uai", "xdsl"}
    layout : mapping, optional
        Variable -> (x, y) pixel position of its node; needed for XDSL (GeNIe).
    """
    writer_class = _exchange_classes()[fmt][0]
    network = to_pgmpy(model)
    network.name = model.name
    if fmt == "xdsl":
        writer = writer_class(network, layout=layout, network_id=model.name)
    else:
        writer = writer_class(network)
    writer.write(str(path))


def read_network_tables(path, fmt: str) -> dict[str, tuple[tuple[str, ...], tuple[str, ...], np.ndarray]]:
    """Read a network file with pgmpy's reader: ``name -> (states, parents, array[state, *parents])``."""
    if fmt == "uai":
        return _read_uai(path)
    reader = _exchange_classes()[fmt][1](path=str(path))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        network = reader.get_model()
    return from_pgmpy_tables(network)


def _read_uai(path) -> dict[str, tuple[tuple[str, ...], tuple[str, ...], np.ndarray]]:
    """A UAI Bayesian network parsed by pgmpy's ``UAIReader``, tables in the UAI format's order.

    UAI holds no names: variables come back as ``var_0``, ``var_1``, ... (their
    index in the file) and states as ``"0"``, ``"1"``, ...
    """
    import_pgmpy()
    from pgmpy.readwrite import UAIReader

    reader = UAIReader(path=str(path))
    if reader.network_type != "BAYES":
        raise ValueError(f"the file holds a {reader.network_type} network, not a Bayesian network (BAYES)")
    parsed = reader.grammar.parse_string(reader.network)
    names = [f"var_{i}" for i in range(reader.no_variables)]
    cards = [int(reader.domain[name]) for name in names]
    out = {}
    for i in range(reader.no_functions):
        scope = parsed[f"fun_{i}"]
        scope = [int(scope)] if isinstance(scope, (int, np.integer)) else [int(j) for j in scope]
        flat = np.array([float(x) for x in parsed[f"fun_values_{i}"]])
        values = np.moveaxis(flat.reshape([cards[j] for j in scope]), -1, 0)  # the child changes fastest
        child = scope[-1]
        out[names[child]] = (tuple(str(s) for s in range(cards[child])), tuple(names[j] for j in scope[:-1]), values)
    return out
