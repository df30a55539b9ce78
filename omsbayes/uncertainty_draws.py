"""Draws of every parameter from its uncertainty distribution.

Measured parameters are drawn from their own distributions (a categorical
parameter jointly, from its Dirichlet); derived parameters are recomputed from
the drawn inputs, so the constraints they encode hold in every draw.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np

from .errors import EvidenceError
from .modelfile import evaluate_formula, formula_inputs

if TYPE_CHECKING:  # pragma: no cover
    from .model import DiagnosticModel

__all__ = ["draw_parameters", "derived_interval", "as_generator", "check_rng", "unit_seeds", "ParameterStreams"]


def check_rng(rng, what: str = "uncertainty") -> None:
    """Refuse what cannot seed a generator (negative or non-integer seeds, other types) with a clear error."""
    if rng is None or isinstance(rng, np.random.Generator):
        return
    if isinstance(rng, numbers.Integral) and not isinstance(rng, (bool, np.bool_)) and rng >= 0:
        return
    raise EvidenceError(
        f"The 'rng' parameter of {what} must be a seed (an integer >= 0), a numpy Generator or None. "
        f"Got {rng!r} instead."
    )


def as_generator(rng: int | np.random.Generator | None) -> np.random.Generator:
    """A numpy Generator from a seed, a Generator (returned as is) or None (fresh entropy)."""
    check_rng(rng)
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(rng)


def unit_seeds(rng: int | np.random.Generator | None, n: int) -> tuple[list[np.random.SeedSequence], type]:
    """One seed sequence per draw unit, and the bit generator type to build from them.

    An integer seed (or None) spawns the children of ``SeedSequence(seed)``, as
    ``numpy.random.default_rng(seed).spawn(n)`` does. A Generator continues
    from its current position: the children are spawned from entropy drawn
    from its stream (which advances it), so two calls on one Generator draw
    differently and a fresh Generator with the same seed repeats the first.
    """
    check_rng(rng)
    if isinstance(rng, np.random.Generator):
        entropy = rng.integers(0, 2**32, size=4, dtype=np.uint64)
        return np.random.SeedSequence([int(x) for x in entropy]).spawn(n), type(rng.bit_generator)
    return np.random.SeedSequence(None if rng is None else int(rng)).spawn(n), np.random.PCG64


class ParameterStreams:
    """The draws of a model's parameters, taken chunk by chunk from one stream per draw unit.

    Each measured parameter (or categorical group) has its own generator, so a
    parameter's draws do not depend on which other parameters are drawn, and
    taking the draws in chunks gives the same numbers as taking them at once.

    Parameters
    ----------
    model : DiagnosticModel
    rng : int, Generator or None
        See :func:`unit_seeds`.
    parameters : iterable of str, optional
        Draw only these (with the inputs of the derived ones among them, and
        whole categorical groups).
    """

    def __init__(self, model: DiagnosticModel, rng, parameters: Iterable[str] | None = None):
        spec = model.spec
        self._model = model
        self._wanted = _with_inputs(spec, parameters) if parameters is not None else set(spec.parameters)
        # draw units in a fixed order: categorical groups, then ungrouped measured parameters
        units = [("group", g) for g in sorted(spec.groups)] + [
            ("parameter", n)
            for n in sorted(spec.parameters)
            if spec.parameters[n].group is None and not spec.parameters[n].is_derived
        ]
        seeds, bit_generator = unit_seeds(rng, len(units))
        self._units = []
        for (kind, name), seed in zip(units, seeds):
            members = [spec.groups[name].member(s) for s in spec.groups[name].states] if kind == "group" else [name]
            if self._wanted.intersection(members):  # a Generator (the costly part) only for the units drawn
                self._units.append((kind, name, members, np.random.Generator(bit_generator(seed))))
        # Overridden parameters are held at their values; a group moves as a whole (co-variation).
        held = set(model.overrides)
        for name in list(held):
            group = spec.parameters[name].group
            if group is not None:
                held.update(spec.groups[group].member(s) for s in spec.groups[group].states)
        self._held = held

    def take(self, draws: int) -> dict[str, np.ndarray]:
        """The next ``draws`` draws of every wanted parameter (name -> array ``(draws,)``)."""
        spec, model = self._model.spec, self._model
        out: dict[str, np.ndarray] = {}
        for kind, name, members, gen in self._units:
            if kind == "group":
                sample = spec.groups[name].uncertainty.sample(gen, draws)
                for i, member in enumerate(members):
                    out[member] = sample[:, i]
            else:
                out[name] = spec.parameters[name].uncertainty.sample(gen, draws)
        # Derived parameters follow their drawn inputs as in the unchanged model: with_parameters keeps
        # them at their calibrated values, so an overridden input enters their formulas with its own
        # (base) draw, and the point estimate stays at the centre of the draws.
        for name, p in spec.parameters.items():  # file order: inputs come before what is derived from them
            if p.is_derived and name in self._wanted:
                out[name] = np.asarray(evaluate_formula(p.formula, out), dtype=float) * np.ones(draws)
        values = model.values
        for name in self._held:
            if name in out:
                out[name] = np.full(draws, values[name])
        return out


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
        ``with_parameters`` are held at their new value (not drawn); derived
        parameters are computed from the draws of their inputs as if no input
        had been changed, since ``with_parameters`` keeps them at their
        calibrated values.
    draws : int
        Number of draws.
    rng : int, Generator or None
        Seed or generator; the same seed gives the same draws bit for bit. A
        Generator continues from its current position (see :func:`unit_seeds`).
    parameters : iterable of str, optional
        Draw only these (with the inputs of the derived ones among them, and
        whole categorical groups). Each measured parameter (or group) draws
        from its own child stream, spawned in a fixed order, so a parameter's
        draws are the same whichever others are drawn: an analysis that needs
        fewer tables does not change the draws of the parameters it shares
        with another.

    Returns
    -------
    dict of str -> numpy.ndarray
        Parameter name -> array of shape ``(draws,)``.
    """
    return ParameterStreams(model, rng, parameters).take(draws)


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
