"""Draws of every parameter from its uncertainty distribution.

Measured parameters are drawn from their own distributions (a categorical
parameter jointly, from its Dirichlet); derived parameters are recomputed from
the drawn inputs, so the constraints they encode hold in every draw.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .modelfile import evaluate_formula

if TYPE_CHECKING:  # pragma: no cover
    from .model import DiagnosticModel

__all__ = ["draw_parameters", "derived_interval", "as_generator"]


def as_generator(rng: int | np.random.Generator | None) -> np.random.Generator:
    """A numpy Generator from a seed, a Generator (returned as is) or None (fresh entropy)."""
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(rng)


def draw_parameters(model: DiagnosticModel, draws: int, rng: int | np.random.Generator | None) -> dict[str, np.ndarray]:
    """Draw every parameter ``draws`` times.

    Parameters
    ----------
    model : DiagnosticModel
        The model whose parameters are drawn. Parameters changed with
        ``with_parameters`` are held at their new value (not drawn).
    draws : int
        Number of draws.
    rng : int, Generator or None
        Seed or generator; the same seed gives the same draws bit for bit.

    Returns
    -------
    dict of str -> numpy.ndarray
        Parameter name -> array of shape ``(draws,)``.
    """
    gen = as_generator(rng)
    spec = model.spec
    fixed = model.overrides
    out: dict[str, np.ndarray] = {}
    # a fixed, sorted order keeps draws reproducible whatever dict order the file has
    for gname in sorted(spec.groups):
        group = spec.groups[gname]
        members = [group.member(s) for s in group.states]
        sample = group.uncertainty.sample(gen, draws)
        for i, member in enumerate(members):
            out[member] = sample[:, i]
        if any(m in fixed for m in members):
            for member in members:
                out[member] = np.full(draws, model.values[member])
    for name in sorted(spec.parameters):
        p = spec.parameters[name]
        if p.group is not None or p.is_derived:
            continue
        sample = p.uncertainty.sample(gen, draws)
        out[name] = np.full(draws, model.values[name]) if name in fixed else sample
    for name, p in spec.parameters.items():  # file order: inputs come before what is derived from them
        if p.is_derived:
            out[name] = (
                np.full(draws, model.values[name])
                if name in fixed
                else np.asarray(evaluate_formula(p.formula, out), dtype=float) * np.ones(draws)
            )
    return out


def derived_interval(model: DiagnosticModel, name: str, level: float = 0.95) -> tuple[float, float]:
    """The central interval of a derived parameter, propagated from its inputs' uncertainty.

    Monte Carlo over every measured parameter's distribution with a fixed seed
    (20,000 draws): the interval is a property of the model file, identical on
    every call.
    """
    spec = model.spec
    key = (id(spec), level)
    if key not in _INTERVALS:
        gen = np.random.default_rng(20041)
        values: dict[str, np.ndarray] = {}
        for gname, group in spec.groups.items():
            sample = group.uncertainty.sample(gen, 20000)
            for i, state in enumerate(group.states):
                values[group.member(state)] = sample[:, i]
        for pname, p in spec.parameters.items():
            if p.group is None and not p.is_derived:
                values[pname] = p.uncertainty.sample(gen, 20000)
        tail = (1.0 - level) / 2.0
        intervals = {}
        for pname, p in spec.parameters.items():
            if p.is_derived:
                values[pname] = np.asarray(evaluate_formula(p.formula, values), dtype=float)
                low, high = np.quantile(values[pname], [tail, 1.0 - tail])
                intervals[pname] = (float(low), float(high))
        _INTERVALS[key] = (spec, intervals)
    return _INTERVALS[key][1][name]


# keyed by id(spec); the spec itself is kept in the value so that its id is not reused
_INTERVALS: dict[tuple, tuple] = {}
