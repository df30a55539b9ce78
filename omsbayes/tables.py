"""Build conditional probability tables from named parameters.

Each variable's recipe (see :mod:`omsbayes.modelfile`) is turned into an array
``cpt[*batch, state, *parent_states]``: the last axes are the variable's own
state followed by its parents in the order of ``VariableSpec.parents``. The
optional leading ``batch`` axes carry parameter draws (uncertainty analysis).

Every entry of every table is affine in each single parameter, and every
parameter feeds one table only, so a posterior is a ratio of two functions
linear in any one parameter: the sensitivity functions of
:mod:`omsbayes.sensitivity` are exact. The recipes:

``by_age``
    ``P(present | age) = p[age]``.
``categorical``
    ``P(state) = p_state`` (a categorical parameter).
``condition``
    ``P(absent | age, trigger, causes) = (1 - base) * prod_j (1 - link_j[age])``
    over the causes that are present, where ``base`` is the spontaneous
    incidence ``rate[age]`` split by the trigger with Bayes' rule at the
    trigger's reference prevalence ``ref[age]`` (its value in the model file):
    ``rate * pi / ref`` with the trigger, ``rate * (1 - pi) / (1 - ref)``
    without, ``pi`` being P(trigger | condition). Averaged over the reference
    prevalence this gives back ``rate``, and P(trigger | condition) = ``pi``.
``noisy_or``
    ``P(absent | u) = prod_{j in u} (1 - F_j)`` when some cause is present,
    ``1 - leak[age]`` when none is: ``F_j`` is the literature frequency of the
    finding in condition ``j`` (it already includes background causes) and
    the leak its frequency without any modelled condition.
``noisy_max``
    Like noisy-OR over an ordered variable: ``P(X <= k | u)`` is the product
    of the present causes' cumulative distributions, or the leak's when no
    cause is present (the most dominant state of any cause wins).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .modelfile import AgeMap, ModelSpec, VariableSpec

__all__ = ["build_table", "build_tables", "reference_prevalences"]


def _batch_shape(values: Mapping[str, np.ndarray]) -> tuple[int, ...]:
    for v in values.values():
        arr = np.asarray(v)
        if arr.ndim:
            return arr.shape
    return ()


class _Grid:
    """Index grids over a variable's parent configurations."""

    def __init__(self, spec: ModelSpec, var: VariableSpec, batch: tuple[int, ...]):
        self.parents = var.parents
        self.cards = tuple(len(spec.variables[p].states) for p in var.parents)
        self.batch = batch
        self.spec = spec
        k = len(self.cards)
        self.ndim = k
        self.index = {}
        for axis, (name, card) in enumerate(zip(self.parents, self.cards)):
            shape = [1] * k
            shape[axis] = card
            self.index[name] = np.arange(card).reshape(shape)

    def expand(self, arr: np.ndarray) -> np.ndarray:
        """Give a batch-shaped array trailing singleton parent axes."""
        arr = np.asarray(arr, dtype=float)
        return arr.reshape(arr.shape + (1,) * self.ndim)

    def age_param(self, amap: AgeMap, values: Mapping[str, np.ndarray]) -> np.ndarray:
        """Values of an age map laid on the grid (batch + parent axes)."""
        if not amap.varies_with_age:
            return self.expand(values[amap.names[0]])
        stacked = np.stack([np.asarray(values[n], dtype=float) for n in amap.names], axis=-1)
        shape = list(stacked.shape[:-1]) + [1] * self.ndim
        shape[len(stacked.shape) - 1 + self.parents.index("age")] = stacked.shape[-1]
        return stacked.reshape(shape)

    def is_state(self, name: str, state: str) -> np.ndarray:
        """Boolean grid: the parent ``name`` is in ``state``."""
        idx = self.spec.variables[name].states.index(state)
        return self.index[name] == idx

    def is_active(self, name: str) -> np.ndarray:
        """Boolean grid: a binary cause is in its second state (present / positive)."""
        return self.index[name] == 1

    def full(self, arr: np.ndarray) -> np.ndarray:
        return np.broadcast_to(arr, self.batch + self.cards)


def reference_prevalences(spec: ModelSpec, values: Mapping[str, float]) -> dict[str, np.ndarray]:
    """Reference prevalence by age of every trigger variable, from the given values.

    The model freezes these at the values in the model file, so that changing a
    trigger's prevalence later changes the incidence of the conditions it
    triggers, as a real change in infection rates would.
    """
    refs = {}
    for var in spec.variables.values():
        if var.table["kind"] == "condition" and "trigger" in var.table:
            trig = spec.variables[var.table["trigger"]]
            names = trig.table["present"].names
            refs[trig.name] = np.array([float(values[n]) for n in names])
    return refs


def build_table(
    spec: ModelSpec,
    var: VariableSpec,
    values: Mapping[str, np.ndarray],
    refs: Mapping[str, np.ndarray],
) -> np.ndarray:
    """The CPT of one variable, ``[*batch, state, *parents]``.

    Parameters
    ----------
    spec : ModelSpec
        The model description.
    var : VariableSpec
        The variable.
    values : mapping
        Parameter name -> value (a float, or an array of draws with one shared
        shape).
    refs : mapping
        Reference prevalences by age of trigger variables (see
        :func:`reference_prevalences`).

    Returns
    -------
    numpy.ndarray
    """
    batch = _batch_shape(values)
    grid = _Grid(spec, var, batch)
    recipe = var.table
    kind = recipe["kind"]
    if kind == "categorical":
        group = spec.groups[recipe["group"]]
        probs = [np.asarray(values[group.member(s)], dtype=float) for s in var.states]
        return np.stack([np.broadcast_to(p, batch) for p in probs], axis=len(batch))
    if kind == "by_age":
        present = grid.full(grid.age_param(recipe["present"], values))
        return _binary(present, batch)
    if kind == "condition":
        absent, present = _condition(grid, recipe, values, refs)
        return _binary(present, batch, absent=absent)
    if kind == "noisy_or":
        absent, present = _noisy_or(grid, recipe, values)
        return _binary(present, batch, absent=absent)
    if kind == "noisy_max":
        return _noisy_max(spec, grid, var, recipe, values)
    raise ValueError(f"unknown table kind {kind!r}")  # pragma: no cover - parser rejects it


def _binary(present: np.ndarray, batch: tuple[int, ...], absent: np.ndarray | None = None) -> np.ndarray:
    present = np.asarray(present, dtype=float)
    absent = 1.0 - present if absent is None else np.broadcast_to(absent, present.shape)
    return np.stack([absent, present], axis=len(batch))


def _condition(grid: _Grid, recipe, values, refs) -> tuple[np.ndarray, np.ndarray]:
    """P(absent) and P(present); P(present) is the base rate itself, not 1 - (1 - rate),
    where no cause is present, so that tiny rates keep full precision."""
    rate = grid.age_param(recipe["rate"], values)
    if "trigger" in recipe:
        tvar = recipe["trigger"]
        pi = grid.age_param(recipe["p_trigger"], values)
        ref = np.asarray(refs[tvar], dtype=float)
        if "age" in grid.parents:
            shape = [1] * grid.ndim
            shape[grid.parents.index("age")] = ref.size
            ref = ref.reshape(shape)
        else:  # the trigger's prevalence does not vary with age (checked when the file is read)
            ref = ref[0]
        with_trigger = grid.is_active(tvar)
        base = np.where(with_trigger, rate * pi / ref, rate * (1.0 - pi) / (1.0 - ref))
    else:
        base = rate
    links = np.ones((1,) * grid.ndim)
    any_cause = np.zeros((1,) * grid.ndim, dtype=bool)
    for cause, amap in recipe["causes"].items():
        link = grid.age_param(amap, values)
        active = grid.is_active(cause)
        links = links * np.where(active, 1.0 - link, 1.0)
        any_cause = any_cause | active
    absent = (1.0 - base) * links
    present = np.where(any_cause, 1.0 - absent, base)
    return grid.full(absent), grid.full(present)


def _cause_frequency(grid: _Grid, rows, values) -> np.ndarray:
    """The frequency of a finding for one cause, chosen by the context rows."""
    result = grid.age_param(rows[-1].p, values)
    for row in reversed(rows[:-1]):
        mask = np.ones((1,) * grid.ndim, dtype=bool)
        for wvar, wstate in row.when:
            mask = mask & grid.is_state(wvar, wstate)
        result = np.where(mask, grid.age_param(row.p, values), result)
    return result


def _noisy_or(grid: _Grid, recipe, values) -> tuple[np.ndarray, np.ndarray]:
    product = np.ones((1,) * grid.ndim)
    any_present = np.zeros((1,) * grid.ndim, dtype=bool)
    for cause, rows in recipe["causes"].items():
        active = grid.is_active(cause)
        freq = _cause_frequency(grid, rows, values)
        product = product * np.where(active, 1.0 - freq, 1.0)
        any_present = any_present | active
    leak = grid.age_param(recipe["leak"], values)
    absent = np.where(any_present, product, 1.0 - leak)
    present = np.where(any_present, 1.0 - product, leak)
    return grid.full(absent), grid.full(present)


def _noisy_max(spec: ModelSpec, grid: _Grid, var: VariableSpec, recipe, values) -> np.ndarray:
    order = recipe["order"]
    batch = grid.batch

    def cdf_of(group_names_by_age: tuple[str, ...]) -> list[np.ndarray]:
        """Cumulative probabilities P(X <= order[k]) for k < last, on the grid."""
        out = []
        running = None
        for state in order[:-1]:
            amap = AgeMap(tuple(spec.groups[g].member(state) for g in group_names_by_age))
            p = grid.age_param(amap, values)
            running = p if running is None else running + p
            out.append(running)
        return out

    n_age = len(spec.age_states)
    products = [np.ones((1,) * grid.ndim) for _ in order[:-1]]
    any_present = np.zeros((1,) * grid.ndim, dtype=bool)
    for cause, gname in recipe["causes"].items():
        active = grid.is_active(cause)
        for k, c in enumerate(cdf_of((gname,) * n_age)):
            products[k] = products[k] * np.where(active, c, 1.0)
        any_present = any_present | active
    leak_cdf = cdf_of(recipe["leak"])
    cdf = [grid.full(np.where(any_present, prod, lk)) for prod, lk in zip(products, leak_cdf)]
    probs = {}
    previous = 0.0
    for state, c in zip(order[:-1], cdf):
        probs[state] = c - previous
        previous = c
    probs[order[-1]] = 1.0 - previous
    shape = batch + grid.cards
    return np.stack([np.broadcast_to(probs[s], shape) for s in var.states], axis=len(batch))


def build_tables(
    spec: ModelSpec,
    values: Mapping[str, np.ndarray],
    refs: Mapping[str, np.ndarray],
    variables: list[str] | None = None,
) -> dict[str, np.ndarray]:
    """Build the CPTs of several (default: all) variables."""
    names = list(spec.variables) if variables is None else variables
    return {name: build_table(spec, spec.variables[name], values, refs) for name in names}
