"""Inference engines: the compiled exact engine and the pgmpy reference.

:class:`CompiledEngine` answers every query of the toolkit; pgmpy's
VariableElimination (:mod:`omsbayes.engine.pgmpy_adapter`) is the reference
that checks it.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..errors import EvidenceError
from .compiled import CompiledEngine, EngineResult, Network

if TYPE_CHECKING:  # pragma: no cover
    from ..evidence import NormalizedEvidence
    from ..model import DiagnosticModel

__all__ = ["CompiledEngine", "EngineResult", "Network", "run_query", "posterior_arrays", "diagnosis_arrays", "prior_arrays", "cases_arrays"]


def posterior_arrays(
    model: DiagnosticModel, variables: list[str], evidence: NormalizedEvidence, engine: str = "compiled"
) -> tuple[dict[str, np.ndarray], float]:
    """Posterior vectors of ``variables`` and ``log P(e)`` for one case.

    Observed variables among ``variables`` get their evidence back (a one-hot
    vector for hard evidence, the normalised product of prior and likelihood
    is not computed for them: soft evidence leaves a variable queryable).

    Raises
    ------
    EvidenceError
        If the evidence has probability zero under the model, naming a
        smallest set of items that conflict.
    """
    hard, soft = evidence.hard, evidence.soft
    queries = [v for v in variables if v not in hard]
    # a soft-evidence variable is both observed (its likelihood) and queryable
    soft_queries = [v for v in queries if v in soft]
    plain_queries = [v for v in queries if v not in soft]
    out: dict[str, np.ndarray] = {}
    fast = _from_universal(model, hard, soft, plain_queries) if engine == "compiled" and not soft_queries else None
    likelihoods = evidence.likelihoods(model.state_map) if fast is None else {}
    if fast is not None:
        out, log_pe, _ = fast
    elif engine == "compiled":
        result = model.engine.run(likelihoods, plain_queries)
        log_pe = float(result.log_evidence[0])
        if not np.isfinite(log_pe):
            raise _conflict_error(model, evidence)
        for v in plain_queries:
            out[v] = result.marginals[v][0]
        for v in soft_queries:
            others = {k: lk for k, lk in likelihoods.items() if k != v}
            prior = model.engine.run(others, [v]).marginals[v][0]
            post = prior * soft[v]
            out[v] = post / post.sum()
    elif engine == "pgmpy":
        from .pgmpy_adapter import pgmpy_query

        result = model.engine.run(likelihoods, [])
        log_pe = float(result.log_evidence[0])
        if not np.isfinite(log_pe):
            raise _conflict_error(model, evidence)
        if queries:
            network = model.to_pgmpy()
            plain = pgmpy_query(model, plain_queries, hard, soft, network=network) if plain_queries else {}
            out.update(plain)
            for v in soft_queries:
                others = {k: lk for k, lk in soft.items() if k != v}
                prior = pgmpy_query(model, [v], hard, others, network=network)[v]
                post = prior * soft[v]
                out[v] = post / post.sum()
    else:
        raise ValueError(f"unknown engine {engine!r}; use 'compiled' or 'pgmpy'")
    for v in variables:
        if v in hard:
            vec = np.zeros(len(model.states(v)))
            vec[model.states(v).index(hard[v])] = 1.0
            out[v] = vec
    return out, log_pe


def _from_universal(model, hard, soft, queries) -> tuple[dict[str, np.ndarray], float, float] | None:
    """Posteriors of conditions for one case straight from the universal program (None if it cannot answer).

    The third value is P(no condition present | e), a by-product of the same run.
    """
    universal = model.engine.universal()
    if universal is None or not all(universal.answers(q) for q in queries):
        return None
    states = {v: model.state_map[v].index(s) for v, s in hard.items()}
    scaled, log_scale = {}, 0.0
    for v, lam in soft.items():
        lam = np.asarray(lam, dtype=float)
        top = float(lam.max())
        if top <= 0:
            return None  # impossible evidence: the general path names it
        scaled[v], log_scale = lam / top, log_scale + math.log(top)
    marginals, log_z, done, none = universal.marginals_and_none(states, scaled, 1, queries)
    if not done[0]:
        return None
    return {v: marginals[v][0] for v in queries}, float(log_z[0]) + log_scale, float(none[0])


def diagnosis_arrays(
    model: DiagnosticModel, variables: list[str], evidence: NormalizedEvidence
) -> tuple[dict[str, np.ndarray], float, float | None]:
    """:func:`posterior_arrays` and P(none of the model's conditions present | e), from one run where it can.

    The third value is None where the universal program cannot answer (a
    soft-evidence query, a model too large for it, a P(e) too small for
    it): the caller then computes it as P(e, all absent) / P(e).
    """
    hard, soft = evidence.hard, evidence.soft
    queries = [v for v in variables if v not in hard]
    if not any(v in soft for v in queries):
        fast = _from_universal(model, hard, soft, queries)
        if fast is not None:
            out, log_pe, none = fast
            if set(model.engine.universal().queries) != set(model.conditions):
                none = None  # the program's "none" is over other variables than the ranked conditions
            for v in variables:
                if v in hard:
                    vec = np.zeros(len(model.states(v)))
                    vec[model.states(v).index(hard[v])] = 1.0
                    out[v] = vec
            return out, log_pe, none
    out, log_pe = posterior_arrays(model, variables, evidence)
    return out, log_pe, None


def prior_arrays(
    model: DiagnosticModel, variables: list[str], evidence: NormalizedEvidence
) -> tuple[dict[str, np.ndarray], float]:
    """:func:`posterior_arrays` for the few evidence sets that recur across cases (the age alone), remembered.

    The answers are the model's own constants (the prior by age bin), kept by
    the engine in a small cache that :meth:`CompiledEngine.clear_cache` and
    pickling drop.
    """
    key = (
        tuple(variables),
        tuple(sorted(evidence.hard.items())),
        tuple(sorted((v, np.asarray(lam, dtype=float).tobytes()) for v, lam in evidence.soft.items())),
    )
    found = model.engine.remembered(key)
    if found is None:
        found = model.engine.remember(key, posterior_arrays(model, variables, evidence))
    arrays, log_pe = found
    return {v: a.copy() for v, a in arrays.items()}, log_pe


def cases_arrays(
    model: DiagnosticModel, evidences: list[NormalizedEvidence], variables: list[str] | None = None
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Posteriors ``{variable: (n, k)}`` and ``log P(e)`` ``(n,)`` for several cases in one engine run.

    Each case observes its own variables (:meth:`CompiledEngine.run_rows`);
    ``variables`` default to the conditions. A case whose evidence is
    impossible has ``log P(e) = -inf`` and zero posteriors (no error).
    """
    n = len(evidences)
    index = {v: model.state_map[v] for e in evidences for v in (*e.hard, *e.soft)}
    states = {v: np.full(n, -1, dtype=np.intp) for v in index}
    likelihoods: dict[str, np.ndarray] = {}
    for r, e in enumerate(evidences):
        for v, state in e.hard.items():
            states[v][r] = index[v].index(state)
        for v, lam in e.soft.items():
            if v not in likelihoods:
                likelihoods[v] = np.full((n, len(index[v])), np.nan)
            likelihoods[v][r] = lam
    result = model.engine.run_rows(states, likelihoods, variables)
    return result.marginals, result.log_evidence


def run_query(model: DiagnosticModel, variables: list[str], evidence: NormalizedEvidence, engine: str) -> dict[str, pd.Series]:
    """Posterior Series per variable (see :meth:`DiagnosticModel.query`)."""
    arrays, _ = posterior_arrays(model, variables, evidence, engine)
    index = model.state_index
    return {v: pd.Series(arrays[v], index=index[v], name=v, copy=False) for v in variables}


def _conflict_error(model: DiagnosticModel, evidence: NormalizedEvidence) -> EvidenceError:
    """Name a smallest set of evidence items the model finds impossible together (deletion filter)."""
    items = list(evidence.likelihoods(model.state_map).items())

    def impossible(subset) -> bool:
        if not subset:
            return False
        res = model.engine.run(dict(subset), [])
        return not np.isfinite(res.log_evidence[0])

    core = list(items)
    for item in list(items):
        trial = [x for x in core if x is not item]
        if impossible(trial):
            core = trial
    described = []
    for var, _ in core:
        if var in evidence.hard:
            described.append(f"{var}={evidence.hard[var]}")
        else:
            described.append(f"{var} (soft)")
    return EvidenceError(
        "The model gives this evidence probability zero: "
        + " and ".join(described)
        + " cannot all hold. Remove or correct one of them."
    )
