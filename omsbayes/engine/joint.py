"""Posteriors from the joint of the few unobserved variables a pattern leaves, for a whole batch at once.

When the variables left unobserved by an evidence pattern are few (after the
non-query ones that can be summed out at compile time are), the engine
enumerates their joint configurations ``u`` for every batch row at once.
``P(u, e)`` is a product of table entries, one per table, chosen by the row's
observed states (and one likelihood per soft finding). Each table's entries
are written as its entries at a *baseline* observed configuration (the first
states: "absent", "negative") times the ratio of the observed configuration's
entries to the baseline's. So

* a row with few observed states away from the baseline (most cases have a
  few positive findings and many negative ones) costs the baseline joint
  times those few ratio vectors: a handful of multiplications per
  configuration;
* any row can be computed in log space, ``log P(u, e) = X @ W + bias``: one
  matrix product for the whole batch (``X`` one-hot over the rows' observed
  configurations and holding soft log likelihoods, ``W`` the log ratios
  broadcast over ``u``), then one exponential per configuration after
  subtracting each row's maximum (which goes into ``log P(e)``).

``P(e)`` is then a sum, and every query's ``P(x, e)`` a product with 0/1
indicator columns. ``W``, the ratios and the baseline joint are built once per
pattern (and group of rows, below) and kept in a cache bounded in bytes.

Observed variables shared by many tables (the age bin, above all) would
multiply the width of ``X`` by their number of states; rows are instead
grouped by those variables' states, each group with its own ``W``.

The answers are exact up to rounding (about 1e-14 relative): only sums and
products of the tables' own numbers are formed. Structural zeros stay exact
zeros; a row whose every configuration meets one has ``P(e) = 0``.
"""

from __future__ import annotations

import functools
import math
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence

import numpy as np

__all__ = ["JointProgram", "LruCache", "build_joint"]

#: Stand-in for log(0): exp of anything near it is exactly 0, and sums of a few hundred stay finite.
_LOG_ZERO = -1e6
#: A row whose largest log joint is below this has probability zero (every configuration hits a zero).
_IMPOSSIBLE = -5e5
#: A non-query variable is summed out at compile time if the factor this creates stays this small.
_ELIMINATE_MAX = 4096


def _log(values: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        out = np.log(values)
    return np.where(values > 0, out, _LOG_ZERO)


class LruCache:
    """A thread-safe least-recently-used cache of numpy arrays bounded by their total size in bytes.

    Parameters
    ----------
    max_bytes : int
        Entries are dropped, oldest use first, while the total exceeds this
        (the newest entry is always kept).
    """

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._entries: OrderedDict = OrderedDict()
        self._sizes: dict = {}
        self._total = 0
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None:
                self._entries.move_to_end(key)
            return hit

    def put(self, key, value, nbytes: int) -> None:
        with self._lock:
            if key in self._entries:
                return
            self._entries[key] = value
            self._sizes[key] = nbytes
            self._total += nbytes
            while len(self._entries) > 1 and self._total > self.max_bytes:
                old, _ = self._entries.popitem(last=False)
                self._total -= self._sizes.pop(old)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._sizes.clear()
            self._total = 0

    @property
    def nbytes(self) -> int:
        """Bytes held."""
        return self._total


@functools.lru_cache(maxsize=64)
def _indicators(shape: tuple[int, ...], axes: tuple[int, ...]) -> np.ndarray:
    """0/1 columns: all ones (for P(e)), then for each queried axis its configurations in each state but the first."""
    size = math.prod(shape)
    blocks = [np.ones((size, 1))]
    if axes:
        index = np.unravel_index(np.arange(size), shape)
        blocks += [(index[a][:, None] == np.arange(1, shape[a])[None, :]).astype(float) for a in axes]
    out = np.ascontiguousarray(np.concatenate(blocks, axis=1))
    out.flags.writeable = False
    return out


class _Factor:
    """A table (or a product of tables with some variables summed out) over named axes."""

    def __init__(self, values: np.ndarray, axes: Sequence[str]):
        self.values = values
        self.axes = tuple(axes)


def _eliminate(factors: list[_Factor], var: str) -> list[_Factor]:
    """Sum ``var`` out of the product of the factors that mention it."""
    touching = [f for f in factors if var in f.axes]
    rest = [f for f in factors if var not in f.axes]
    axes = list(dict.fromkeys(a for f in touching for a in f.axes))
    letters = {a: chr(ord("a") + i) for i, a in enumerate(axes)}
    kept = [a for a in axes if a != var]
    expr = ",".join("".join(letters[a] for a in f.axes) for f in touching) + "->" + "".join(letters[a] for a in kept)
    return rest + [_Factor(np.einsum(expr, *[f.values for f in touching], optimize=True), kept)]


class JointProgram:
    """The compiled enumeration of one evidence pattern.

    Parameters
    ----------
    factors : list of _Factor
        Tables (some merged) over observed and unobserved axes.
    unobserved : list of str
        The enumerated variables, in the order of the joint's axes.
    cards : mapping
        Variable -> number of states.
    hard, soft, queries : sequence of str
        The pattern.
    cache : LruCache, optional
        Where the per-group matrices ``W`` are kept (shared by the programs
        of an engine); by default one of 64 MiB of its own.
    """

    def __init__(self, factors, unobserved, cards, hard, soft, queries, cache: LruCache | None = None):
        self.unobserved = tuple(unobserved)
        self.cards = dict(cards)
        self.shape = tuple(cards[v] for v in self.unobserved)
        self.size = math.prod(self.shape)
        self.queries = tuple(queries)
        self.soft = tuple(soft)
        hard_set = set(hard)
        self.split = _split_variables(factors, hard, cards)
        split_set = set(self.split)
        self.parts = []  # per factor: (values laid out (split..., columns..., unobserved...), split axes, column axes, baseline)
        width = 0
        for f in factors:
            split_axes = [a for a in f.axes if a in split_set]
            column_axes = [a for a in f.axes if a in hard_set and a not in split_set]
            free_axes = [a for a in self.unobserved if a in f.axes]
            order = [f.axes.index(a) for a in split_axes + column_axes + free_axes]
            values = _log(np.transpose(f.values, order))
            n_columns = math.prod(cards[a] for a in column_axes)
            baseline = n_columns > 1 and bool(np.all(f.values > 0))  # log-odds against the first configuration
            self.parts.append((values, tuple(split_axes), tuple(column_axes), tuple(free_axes), width, baseline))
            width += (n_columns - 1) if baseline else (n_columns if n_columns > 1 else 0)
        self.soft_offset = {}
        for v in self.soft:
            self.soft_offset[v] = width
            width += cards[v]
        self.width = width  # column ``width`` of X is a spare that W maps to nothing
        # a row's column for each factor: offset + its observed configuration (minus 1 with a baseline)
        with_columns = [part for part in self.parts if part[2]]
        self.column_vars = tuple(dict.fromkeys(a for part in with_columns for a in part[2]))
        self.column_matrix = np.zeros((len(with_columns), len(self.column_vars)))
        for i, (_, _, column_axes, _, _, _) in enumerate(with_columns):
            stride = 1
            for a in reversed(column_axes):
                self.column_matrix[i, self.column_vars.index(a)] = stride
                stride *= cards[a]
        self.column_offset = np.array([part[4] for part in with_columns], dtype=np.intp)
        self.column_baseline = np.array([part[5] for part in with_columns], dtype=bool)
        # P(x, e) for every state of a query but its first (which is P(e) minus the others)
        self.query_block = {}
        start = 0
        for q in self.queries:
            self.query_block[q] = slice(start, start + cards[q] - 1)
            start += cards[q] - 1
        self.indicators = _indicators(self.shape, tuple(self.unobserved.index(q) for q in self.queries))
        # where each query's states go in the output: the first state of each, then the others
        self.out_block = {}
        first, other, at = [], [], 0
        for q in self.queries:
            self.out_block[q] = slice(at, at + cards[q])
            first.append(at)
            other.extend(range(at + 1, at + cards[q]))
            at += cards[q]
        self.first_states = np.array(first, dtype=np.intp)
        self.other_states = np.array(other, dtype=np.intp)
        self.block_starts = np.array([self.query_block[q].start for q in self.queries], dtype=np.intp)
        self.out_width = at
        self.per_row_bytes = 8 * (self.width + 3 * self.size + start + 8)
        self.cache = cache if cache is not None else LruCache(64 * 2**20)
        self.key = (tuple(hard), self.soft, self.queries)

    # -- the matrix of log table entries for one group ---------------------------
    def _broadcast(self, values: np.ndarray, free_axes: tuple[str, ...]) -> np.ndarray:
        """Rows of log entries over the free axes, broadcast to the whole joint ``(rows, size)``."""
        rows = values.shape[0]
        shape = tuple(self.cards[a] if a in free_axes else 1 for a in self.unobserved)
        return np.broadcast_to(values.reshape((rows,) + shape), (rows,) + self.shape).reshape(rows, self.size)

    def weights(self, group: tuple[int, ...]) -> _GroupTables:
        """The log tables (and their exponentials) for the rows whose split variables are in the states ``group``."""
        hit = self.cache.get((self.key, group))
        if hit is not None:
            return hit
        at = dict(zip(self.split, group))
        bias = np.zeros(self.size)
        w = np.zeros((self.width + 1, self.size))
        for values, split_axes, column_axes, free_axes, offset, baseline in self.parts:
            sliced = values[tuple(at[a] for a in split_axes)]
            n_columns = math.prod(self.cards[a] for a in column_axes)
            rows = self._broadcast(sliced.reshape((n_columns,) + sliced.shape[len(column_axes) :]), free_axes)
            if n_columns == 1:
                bias += rows[0]
            elif baseline:
                bias += rows[0]
                w[offset : offset + n_columns - 1] = rows[1:] - rows[0]
            else:
                w[offset : offset + n_columns] = rows
        for v, offset in self.soft_offset.items():
            axis = self.unobserved.index(v)
            index = np.unravel_index(np.arange(self.size), self.shape)[axis]
            w[offset : offset + self.cards[v]] = (index[None, :] == np.arange(self.cards[v])[:, None]).astype(float)
        tables = _GroupTables(w, bias)
        self.cache.put((self.key, group), tables, tables.nbytes)
        return tables

    # -- running ------------------------------------------------------------------
    def run(self, states: Mapping[str, np.ndarray], soft: Mapping[str, np.ndarray], batch: int):
        """Marginals ``{query: (B, k)}`` and ``log P(e)`` ``(B,)`` for a batch of rows."""
        rows = np.arange(batch)
        # each row's column of X for every factor with observed axes (``width``: none, the baseline)
        columns = np.full((0, batch), self.width, dtype=np.intp)
        if len(self.column_offset):
            observed = np.empty((len(self.column_vars), batch))
            for i, a in enumerate(self.column_vars):
                observed[i] = states[a]
            # a float product (BLAS) of small integers is exact, and far faster than numpy's integer one
            config = (self.column_matrix @ observed).astype(np.intp)
            columns = self.column_offset[:, None] + config - self.column_baseline[:, None]
            columns[self.column_baseline[:, None] & (config == 0)] = self.width
        soft_logs = {v: _log(np.broadcast_to(soft[v], (batch, self.cards[v]))) for v in self.soft_offset}
        code = np.zeros(batch, dtype=np.intp)
        for a in self.split:  # the rows' group: the states of the split variables, as one number
            code = code * self.cards[a] + states[a]
        groups, which = (code[:1], None) if batch == 1 or np.all(code == code[0]) else np.unique(code, return_inverse=True)
        log_z = np.empty(batch)
        joint = np.empty((batch, self.indicators.shape[1] - 1))
        active = (columns != self.width).sum(axis=0)
        for k, group in enumerate(groups):
            members = rows if which is None else np.flatnonzero(which == k)
            tables = self.weights(tuple(int(s) for s in np.unravel_index(int(group), [self.cards[a] for a in self.split])))
            few = (active[members] <= _PRODUCT_MAX) & (not soft_logs)
            failed = self._by_products(tables, columns, members[few], log_z, joint)
            dense = members[~few] if not len(failed) else np.concatenate([members[~few], failed])
            if len(dense):
                self._by_logs(tables, columns, soft_logs, dense, log_z, joint)
        out = np.empty((batch, self.out_width))
        if self.out_width:
            out[:, self.other_states] = joint
            first = 1.0 - np.add.reduceat(joint, self.block_starts, axis=1) if joint.shape[1] else np.ones((batch, len(self.first_states)))
            np.maximum(first, 0.0, out=first)
            out[:, self.first_states] = first * np.isfinite(log_z)[:, None]
        return {q: out[:, self.out_block[q]] for q in self.queries}, log_z

    def _by_logs(self, tables: _GroupTables, columns, soft_logs, members, log_z, joint) -> None:
        """Rows through ``exp(X @ W + bias)``: any number of observed states, soft evidence too."""
        x = np.zeros((len(members), self.width + 1))
        x[np.arange(len(members))[None, :], columns[:, members]] = 1.0
        for v, offset in self.soft_offset.items():
            x[:, offset : offset + self.cards[v]] = soft_logs[v][members]
        logs = x @ tables.w
        logs += tables.bias
        top = logs.max(axis=1)
        np.subtract(logs, top[:, None], out=logs)
        np.exp(logs, out=logs)
        sums = logs @ self.indicators
        z = sums[:, 0]
        impossible = top < _IMPOSSIBLE
        log_z[members] = np.where(impossible, -np.inf, np.log(np.where(impossible, 1.0, z)) + top)
        joint[members] = sums[:, 1:] / np.where(impossible, np.inf, z)[:, None]

    def _by_products(self, tables: _GroupTables, columns, members, log_z, joint) -> np.ndarray:
        """Rows with few observed states away from their factor's baseline, as products of table ratios.

        ``P(u, e)`` is the product of the baseline joint and, for each such
        state, the ratio of its table entries to the baseline's: a few
        multiplications per configuration instead of an exponential. Returns
        the rows whose ``P(e)`` came out too small to trust (they go through
        the logs instead).
        """
        if not len(members):
            return members
        ratios, firsts, shift = tables.products()
        depth = (columns[:, members] != self.width).sum(axis=0)
        failed = []
        single = members[depth <= 1]
        if len(single):  # the baseline joint times at most one ratio: its answers are made once per group
            z_first, joint_first = tables.first_answers(self.indicators)
            first = columns[:, single].min(axis=0) if len(columns) else np.full(len(single), self.width)
            z = z_first[first]
            good = z > _PRODUCT_FLOOR
            log_z[single] = np.log(np.where(good, z, 1.0)) + shift
            joint[single] = joint_first[first] / np.where(good, z, 1.0)[:, None]
            if not good.all():
                failed.append(single[~good])
        several = depth > 1
        order = members[several][np.argsort(depth[several], kind="stable")]
        for start in range(0, len(order), _PRODUCT_BLOCK):
            block = order[start : start + _PRODUCT_BLOCK]
            picked = np.sort(columns[:, block], axis=0)  # the baseline (``width``) sorts last
            deepest = int((picked != self.width).sum(axis=0).max())
            values = firsts[picked[0]]
            for slot in range(1, deepest):
                np.multiply(values, ratios[picked[slot]], out=values)
            sums = values @ self.indicators
            z = sums[:, 0]
            good = z > _PRODUCT_FLOOR
            log_z[block] = np.log(np.where(good, z, 1.0)) + shift
            joint[block] = sums[:, 1:] / np.where(good, z, 1.0)[:, None]
            if not good.all():
                failed.append(block[~good])
        return np.concatenate(failed) if failed else members[:0]


class _GroupTables:
    """One group's log tables ``W`` and ``bias``, and (made on first use) their exponentials."""

    def __init__(self, w: np.ndarray, bias: np.ndarray):
        self.w = w
        self.bias = bias
        self._products = None
        self._first_answers = None

    def first_answers(self, indicators: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``P(e)`` and the indicator sums of each first factor (a row of ``firsts``), made once."""
        if self._first_answers is None:
            sums = self.products()[1] @ indicators
            self._first_answers = (sums[:, 0], sums[:, 1:])
        return self._first_answers

    def products(self) -> tuple[np.ndarray, np.ndarray, float]:
        """``(ratios, firsts, shift)`` for computing joints as products.

        ``ratios = exp(W)``: each column's table entries over the baseline's
        (the spare last column: ones); ``firsts``: the baseline joint
        ``exp(bias - shift)`` times each column's ratios (its last row: the
        baseline joint itself), so a row's first factor costs a copy.
        """
        if self._products is None:
            shift = float(self.bias.max())
            ratios = np.exp(self.w)
            ratios[-1] = 1.0  # the spare column: multiplying by it changes nothing
            self._products = (ratios, ratios * np.exp(self.bias - shift), shift)
        return self._products

    @property
    def nbytes(self) -> int:
        """Bytes held once the products are made (``W``, the ratios and the first factors)."""
        return 3 * (self.w.nbytes + self.bias.nbytes)


#: Rows with at most this many observed states away from the baseline are computed as products.
_PRODUCT_MAX = 12
#: Rows computed together as products (their joints stay in cache).
_PRODUCT_BLOCK = 16
#: Below this a product-computed P(e) (relative to the baseline) is recomputed through the logs.
_PRODUCT_FLOOR = 1e-250


#: An observed variable splits the rows into groups if it would otherwise add more columns than this to X.
_SPLIT_COLUMNS = 32


def _split_variables(factors: Sequence[_Factor], hard: Sequence[str], cards: Mapping[str, int]) -> tuple[str, ...]:
    """Observed variables whose states group the rows (each group gets its own W).

    An observed variable shared by factors that have other observed axes
    multiplies those factors' columns in X by its number of states (the age
    bin does, for every finding); grouping the rows by its state instead keeps
    X narrow. Variables are chosen greedily, the one saving most columns
    first, while a choice saves more than ``_SPLIT_COLUMNS`` columns.
    """
    hard_set = set(hard)
    split: list[str] = []

    def columns(without: set[str]) -> int:
        total = 0
        for f in factors:
            n = math.prod(cards[a] for a in f.axes if a in hard_set and a not in without)
            total += n - 1
        return total

    while True:
        current = columns(set(split))
        best, saved = None, _SPLIT_COLUMNS
        for v in hard:
            if v in split or sum(v in f.axes for f in factors) < 2:
                continue
            gain = current - columns(set(split) | {v})
            if gain > saved:
                best, saved = v, gain
        if best is None:
            return tuple(v for v in hard if v in split)
        split.append(best)


def build_joint(
    network, tables: Mapping[str, np.ndarray], hard, soft, queries, limit: int, cache: LruCache | None = None
) -> JointProgram | None:
    """The enumeration program of a pattern, or None when its joint would exceed ``limit`` configurations."""
    hard_set = set(hard)
    relevant = network.ancestors(hard_set | set(soft) | set(queries))
    order = [v for v in network.variables if v in relevant]
    factors = [_Factor(tables[v], (v, *network.parents[v])) for v in order]
    unobserved = [v for v in order if v not in hard_set]
    keep = set(queries) | set(soft)
    while True:
        best, best_size = None, None
        for v in unobserved:
            if v in keep:
                continue
            axes = {a for f in factors if v in f.axes for a in f.axes} - {v}
            size = math.prod(network.cards[a] for a in axes)
            if size <= _ELIMINATE_MAX and (best_size is None or size < best_size):
                best, best_size = v, size
        if best is None:
            break
        factors = _eliminate(factors, best)
        unobserved.remove(best)
    if math.prod(network.cards[v] for v in unobserved) > limit:
        return None
    return JointProgram(factors, unobserved, network.cards, hard, soft, queries, cache)
