"""Draws of every parameter from its uncertainty distribution.

Measured parameters are drawn from their own distributions (a categorical
parameter jointly, from its Dirichlet); derived parameters are recomputed from
the drawn inputs, so the constraints they encode hold in every draw.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np

from .modelfile import evaluate_formula, formula_inputs

if TYPE_CHECKING:  # pragma: no cover
    from .model import DiagnosticModel

__all__ = ["draw_parameters", "derived_interval", "as_generator"]


def as_generator(rng: int | np.random.Generator | None) -> np.random.Generator:
    """A numpy Generator from a seed, a Generator (returned as is) or None (fresh entropy)."""
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(rng)


def draw_parameters(
    model: DiagnosticModel,
    draws: int,
    rng: int | np.random.Generator | None,
    parameters: Iterable[str] | None = None,
) -> dict[str, np.ndarray]:
    """Draw every parameter (or only those asked for) ``draws`` times.

    Parameters
    ----------
    model : DiagnosticModel
        The model whose parameters are drawn. Parameters changed with
        ``with_parameters`` are held at their new value (not drawn).
    draws : int
        Number of draws.
    rng : int, Generator or None
        Seed or generator; the same seed gives the same draws bit for bit.
    parameters : iterable of str, optional
        Draw only these (with the inputs of the derived ones among them, and
        whole categorical groups). Each measured parameter (or group) draws
        from its own child generator, spawned from ``rng`` in a fixed order, so
        a parameter's draws are the same whichever others are drawn: an
        analysis that needs fewer tables does not change the draws of the
        parameters it shares with another.

    Returns
    -------
    dict of str -> numpy.ndarray
        Parameter name -> array of shape ``(draws,)``.
    """
    gen = as_generator(rng)
    spec = model.spec
    fixed = model.overrides
    wanted = _with_inputs(spec, parameters) if parameters is not None else set(spec.parameters)
    # draw units in a fixed order: categorical groups, then ungrouped measured parameters
    units = [("group", g) for g in sorted(spec.groups)] + [
        ("parameter", n) for n in sorted(spec.parameters) if spec.parameters[n].group is None and not spec.parameters[n].is_derived
    ]
    # Seed sequences for every unit, as Generator.spawn would make them; a
    # Generator (the costly part) only for the units drawn.
    seeds = gen.bit_generator.seed_seq.spawn(len(units))
    bit_generator = type(gen.bit_generator)
    out: dict[str, np.ndarray] = {}
    for (kind, name), seed in zip(units, seeds):
        if kind == "group":
            group = spec.groups[name]
            members = [group.member(s) for s in group.states]
            if not wanted.intersection(members):
                continue
            child = np.random.Generator(bit_generator(seed))
            if any(m in fixed for m in members):
                for member in members:
                    out[member] = np.full(draws, model.values[member])
                continue
            sample = group.uncertainty.sample(child, draws)
            for i, member in enumerate(members):
                out[member] = sample[:, i]
        elif name in wanted:
            p = spec.parameters[name]
            out[name] = (
                np.full(draws, model.values[name])
                if name in fixed
                else p.uncertainty.sample(np.random.Generator(bit_generator(seed)), draws)
            )
    for name, p in spec.parameters.items():  # file order: inputs come before what is derived from them
        if p.is_derived and name in wanted:
            out[name] = (
                np.full(draws, model.values[name])
                if name in fixed
                else np.asarray(evaluate_formula(p.formula, out), dtype=float) * np.ones(draws)
            )
    return out


def _with_inputs(spec, parameters: Iterable[str]) -> set[str]:
    """The parameters and, recursively, the inputs of the derived ones among them."""
    wanted: set[str] = set()
    stack = list(parameters)
    while stack:
        name = stack.pop()
        if name in wanted:
            continue
        wanted.add(name)
        p = spec.parameters[name]
        if p.is_derived:
            stack.extend(formula_inputs(p.formula))
    return wanted


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
        for group in spec.groups.values():
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
