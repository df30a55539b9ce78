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
    """Index grids over a variable's parent configurations.

    Arrays on the grid have the parent axes first and the batch axes (parameter
    draws) last: the long outer products of noisy-OR and noisy-MAX tables then
    run over contiguous memory, several times faster than batch-first.
    :func:`build_table` moves the batch axes to the front at the end.

    Parents in ``restrict`` (variable -> state index) keep one state only: their
    axis has size 1 and holds that state.
    """

    def __init__(self, spec: ModelSpec, var: VariableSpec, batch: tuple[int, ...], restrict: Mapping[str, int] | None = None):
        self.parents = var.parents
        self.restrict = dict(restrict or {})
        self.cards = tuple(1 if p in self.restrict else len(spec.variables[p].states) for p in var.parents)
        self.batch = batch
        self.spec = spec
        k = len(self.cards)
        self.ndim = k
        self.tail = (1,) * len(batch)  # singleton batch axes of arrays that do not vary by draw
        self.index = {}
        for axis, (name, card) in enumerate(zip(self.parents, self.cards)):
            shape = [1] * k
            shape[axis] = card
            states = np.array([self.restrict[name]]) if name in self.restrict else np.arange(card)
            self.index[name] = states.reshape(tuple(shape) + self.tail)

    def ones(self) -> np.ndarray:
        """A neutral factor (1) of the grid's dimensionality."""
        return np.ones((1,) * self.ndim + self.tail)

    def falses(self) -> np.ndarray:
        """A boolean grid of False."""
        return np.zeros((1,) * self.ndim + self.tail, dtype=bool)

    def expand(self, arr: np.ndarray) -> np.ndarray:
        """Give a batch-shaped array leading singleton parent axes."""
        arr = np.asarray(arr, dtype=float)
        return arr.reshape((1,) * self.ndim + arr.shape)

    def age_param(self, amap: AgeMap, values: Mapping[str, np.ndarray]) -> np.ndarray:
        """Values of an age map laid on the grid (parent axes + batch)."""
        if not amap.varies_with_age:
            return self.expand(values[amap.names[0]])
        if "age" in self.restrict:
            return self.expand(values[amap.names[self.restrict["age"]]])
        stacked = np.stack([np.asarray(values[n], dtype=float) for n in amap.names], axis=0)  # (age, *batch)
        shape = [1] * self.ndim
        shape[self.parents.index("age")] = stacked.shape[0]
        return stacked.reshape(tuple(shape) + stacked.shape[1:])

    def age_vector(self, vector: np.ndarray) -> np.ndarray:
        """A per-age-bin constant vector laid on the grid's age axis."""
        vector = np.asarray(vector, dtype=float)
        if "age" in self.restrict:
            return vector[self.restrict["age"]]
        shape = [1] * self.ndim
        shape[self.parents.index("age")] = vector.size
        return vector.reshape(tuple(shape) + self.tail)

    def is_state(self, name: str, state: str) -> np.ndarray:
        """Boolean grid: the parent ``name`` is in ``state``."""
        idx = self.spec.variables[name].states.index(state)
        return self.index[name] == idx

    def is_active(self, name: str) -> np.ndarray:
        """Boolean grid: a binary cause is in its second state (present / positive)."""
        return self.index[name] == 1

    @property
    def shape(self) -> tuple[int, ...]:
        """Full shape of an array on the grid: parent axes, then batch axes."""
        return self.cards + self.batch


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
    restrict: Mapping[str, int] | None = None,
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
    restrict : mapping, optional
        Variable -> state index for observed variables (the variable itself or
        its parents): only that slice of the table is built, and its axis has
        size 1. With many parameter draws this saves most of the work.

    Returns
    -------
    numpy.ndarray
    """
    batch = _batch_shape(values)
    grid = _Grid(spec, var, batch, restrict)
    own = None if not restrict or var.name not in restrict else restrict[var.name]
    wanted = list(range(len(var.states))) if own is None else [own]
    if var.table["kind"] == "noisy_or" and wanted == [0, 1]:
        # the largest tables: written in place, without a stacked copy of both states
        stacked = np.empty((2,) + grid.shape)  # (state, *parents, *batch)
        _noisy_or(grid, var.table, values, wanted, out=stacked)
    else:
        arrays = _state_arrays(spec, var, values, refs, grid, wanted)
        if len(wanted) == 1:  # one observed state: a view, no copy
            stacked = np.broadcast_to(arrays[wanted[0]], grid.shape)[None]
        else:
            stacked = np.stack([np.broadcast_to(arrays[i], grid.shape) for i in wanted], axis=0)
    nb = len(batch)
    # batch axes to the front; a view (the engine copies what it slices)
    return np.moveaxis(stacked, tuple(range(stacked.ndim - nb, stacked.ndim)), tuple(range(nb))) if nb else stacked


def _state_arrays(spec, var, values, refs, grid: _Grid, wanted: list[int]) -> dict[int, np.ndarray]:
    """P(var = state | parents) on the grid, for the wanted state indices only."""
    recipe = var.table
    kind = recipe["kind"]
    if kind == "categorical":
        group = spec.groups[recipe["group"]]
        return {i: np.asarray(values[group.member(var.states[i])], dtype=float).reshape(grid.shape) for i in wanted}
    if kind == "noisy_max":
        return _noisy_max(spec, grid, var, recipe, values, wanted)
    if kind == "by_age":
        present = grid.age_param(recipe["present"], values)
        absent = None
    elif kind == "condition":
        absent, present = _condition(grid, recipe, values, refs, wanted)
    elif kind == "noisy_or":
        absent, present = _noisy_or(grid, recipe, values, wanted)
    else:  # pragma: no cover - the parser rejects other kinds
        raise ValueError(f"unknown table kind {kind!r}")
    out = {}
    if 1 in wanted:
        out[1] = present
    if 0 in wanted:
        out[0] = 1.0 - present if absent is None else absent
    return out


def _condition(grid: _Grid, recipe, values, refs, wanted=(0, 1)) -> tuple[np.ndarray, np.ndarray | None]:
    """P(absent) and P(present); P(present) is the base rate itself, not 1 - (1 - rate),
    where no cause is present, so that tiny rates keep full precision."""
    rate = grid.age_param(recipe["rate"], values)
    if "trigger" in recipe:
        tvar = recipe["trigger"]
        pi = grid.age_param(recipe["p_trigger"], values)
        ref = np.asarray(refs[tvar], dtype=float)
        if "age" in grid.parents:
            ref = grid.age_vector(ref)
        else:  # the trigger's prevalence does not vary with age (checked when the file is read)
            ref = ref[0]
        with_trigger = grid.is_active(tvar)
        base = np.where(with_trigger, rate * pi / ref, rate * (1.0 - pi) / (1.0 - ref))
    else:
        base = rate
    links = grid.ones()
    any_cause = grid.falses()
    for cause, amap in recipe["causes"].items():
        link = grid.age_param(amap, values)
        active = grid.is_active(cause)
        links = links * np.where(active, 1.0 - link, 1.0)
        any_cause = any_cause | active
    absent = (1.0 - base) * links
    present = np.where(any_cause, 1.0 - absent, base) if 1 in wanted else None
    return absent, present


def _cause_frequency(grid: _Grid, rows, values) -> np.ndarray:
    """The frequency of a finding for one cause, chosen by the context rows."""
    result = grid.age_param(rows[-1].p, values)
    for row in reversed(rows[:-1]):
        mask = ~grid.falses()
        for wvar, wstate in row.when:
            mask = mask & grid.is_state(wvar, wstate)
        result = np.where(mask, grid.age_param(row.p, values), result)
    return result


def _owned_full(arr: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """``arr`` at the full grid shape, writable: itself when it already has that shape, else a copy."""
    if arr.shape == shape and arr.flags.writeable and arr.flags.owndata:
        return arr
    return np.array(np.broadcast_to(arr, shape))


def _none_active(grid: _Grid, causes) -> tuple:
    """Index (over batch and parent axes) of the configurations where no cause is active.

    Causes are binary parents in their first state there; other parents (age,
    context) keep every state. Assigning to this index replaces a full-grid
    ``np.where`` over "any cause present", which is the costly part of building
    large noisy-OR / noisy-MAX tables for many parameter draws.
    """
    index = []
    for name in grid.parents:
        if name in causes:
            if grid.restrict.get(name) == 1:
                return None  # an active cause is observed: no such configuration here
            index.append(0)
        else:
            index.append(slice(None))
    return tuple(index) + (slice(None),) * len(grid.batch)


def _noisy_or(
    grid: _Grid, recipe, values, wanted=(0, 1), out: np.ndarray | None = None
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """P(absent) and P(present); with ``out`` (``(2, *grid.shape)``, both states wanted) written into it.

    Writing the last product and its complement straight into ``out`` saves two
    full-size temporaries and a copy: these tables have millions of entries.
    """
    causes = list(recipe["causes"].items())
    product = grid.ones()
    for k, (cause, rows) in enumerate(causes):
        freq = _cause_frequency(grid, rows, values)
        factor = np.where(grid.is_active(cause), 1.0 - freq, 1.0)
        if out is not None and k == len(causes) - 1:
            product = np.multiply(product, factor, out=out[0])
        else:
            product = product * factor
    if out is not None:
        if not causes:
            out[0] = product
        product = out[0]
    else:
        product = _owned_full(product, grid.shape)
    leak = np.broadcast_to(grid.age_param(recipe["leak"], values), grid.shape)
    none = _none_active(grid, recipe["causes"])
    absent = present = None
    if 1 in wanted:
        present = 1.0 - product if out is None else np.subtract(1.0, product, out=out[1])
        if none is not None:
            present[none] = leak[none]
    if 0 in wanted:
        absent = product
        if none is not None:
            absent[none] = 1.0 - leak[none]
    return absent, present


def _noisy_max(spec: ModelSpec, grid: _Grid, var: VariableSpec, recipe, values, wanted) -> dict[int, np.ndarray]:
    order = recipe["order"]
    last = len(order) - 1
    # P(X = order[k]) = CDF(k) - CDF(k - 1): only the cumulative levels the wanted states use are built
    positions = {order.index(var.states[i]): i for i in wanted}
    levels = sorted({k for p in positions for k in (p - 1, p) if 0 <= k < last})

    def cdf_of(group_names_by_age: tuple[str, ...]) -> dict[int, np.ndarray]:
        """Cumulative probabilities P(X <= order[k]) on the grid, for the needed k."""
        out, running = {}, None
        for k, state in enumerate(order[: max(levels) + 1] if levels else ()):
            amap = AgeMap(tuple(spec.groups[g].member(state) for g in group_names_by_age))
            p = grid.age_param(amap, values)
            running = p if running is None else running + p
            if k in levels:
                out[k] = running
        return out

    n_age = len(spec.age_states)
    products = {k: grid.ones() for k in levels}
    for cause, gname in recipe["causes"].items():
        active = grid.is_active(cause)
        for k, c in cdf_of((gname,) * n_age).items():
            products[k] = products[k] * np.where(active, c, 1.0)
    leak_cdf = cdf_of(recipe["leak"])
    none = _none_active(grid, recipe["causes"])
    shape = grid.shape
    cdf = {}
    for k in levels:
        cdf[k] = _owned_full(products[k], shape)
        if none is not None:
            cdf[k][none] = np.broadcast_to(leak_cdf[k], shape)[none]
    out = {}
    for position, index in positions.items():
        upper = 1.0 if position == last else cdf[position]
        lower = 0.0 if position == 0 else cdf[position - 1]
        out[index] = upper - lower
    return out


def build_tables(
    spec: ModelSpec,
    values: Mapping[str, np.ndarray],
    refs: Mapping[str, np.ndarray],
    variables: list[str] | None = None,
    restrict: Mapping[str, int] | None = None,
) -> dict[str, np.ndarray]:
    """Build the CPTs of several (default: all) variables (see :func:`build_table` for ``restrict``)."""
    names = list(spec.variables) if variables is None else variables
    return {name: build_table(spec, spec.variables[name], values, refs, restrict) for name in names}
