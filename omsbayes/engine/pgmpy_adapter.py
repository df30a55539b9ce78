"""The one place omsbayes talks to pgmpy.

pgmpy represents the model (``to_pgmpy``), reads and writes exchange formats,
and answers queries with VariableElimination as the reference against which
the compiled engine is checked. Evidence is validated before it gets here.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from ..model import DiagnosticModel

__all__ = ["import_pgmpy", "to_pgmpy", "pgmpy_query", "pgmpy_version", "from_pgmpy_tables"]


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
