"""One compiled program per model that serves every evidence pattern of the condition posteriors.

A *pattern* (which variables a case observes) no longer selects a program:
an unobserved variable is observed through a likelihood of ones, which for a
leaf (a finding or test: a variable without children) is a factor of exactly
1. So the posteriors of the conditions, for any subset of observed findings,
tests, histories, ages and conditions, hard or soft, come from one enumeration
of the joint of the conditions whose inputs are the rows' observed entries.
A cohort whose every row observes its own variables runs as one batch.

The structure is read from the network, never assumed:

* ``Q``, the query variables (the model's conditions, two states each), are
  enumerated: configuration ``u`` has bit ``j`` set when ``Q[j]`` is present;
* leaves (variables without children that are not queries) contribute, per
  row, the factor ``sum_s lambda(s) P(L = s | parents)``: the table entry of
  the observed state for hard evidence, nothing when unobserved;
* outer variables ``O`` (parents of a leaf that are not queries: the age) are
  enumerated around the conditions; a row's likelihood over them weights each
  outer configuration, and configurations of weight 0 (every age bin but the
  observed one) are skipped;
* every other variable (histories feeding only conditions) is summed out into
  a prior over ``(O, Q)`` that depends only on the row's evidence on those
  variables: one contraction per distinct such evidence, cached.

Evidence on a query is a leaf too: an indicator table over its two states.

The enumeration is a numba kernel over blocks of rows. Within a block, for
each outer configuration and each tile of ``2^b`` configurations of the
conditions, every leaf's table entries are gathered once into contiguous
vectors; each row then multiplies its prior tile by the vectors of its
observed entries and folds the product into ``P(e)`` and ``P(Q_j present, e)``
(``3 * 2^b`` additions per tile). Exact up to rounding: only sums and products
of the tables' own numbers are formed. All factors are at most 1 (likelihoods
are scaled to a largest entry of 1), so a product can only underflow if
``P(e)`` itself is tiny: rows whose ``P(e)`` is below :data:`_Z_FLOOR` are
reported as not done and the engine recomputes them by contraction (with
rescaling), which also names impossible evidence.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Mapping, Sequence

import numpy as np
import opt_einsum

from .joint import LruCache

__all__ = ["UniversalProgram", "build_universal", "UNIVERSAL_LIMIT"]

#: Largest enumeration (outer configurations x configurations of the conditions) compiled into one program;
#: larger models run pattern by pattern. Measured on the bundled model (2 cores): a row costs about 0.085 ns
#: per configuration and observed table, linearly (3.6 us with a known age, 18.8 us without: 6 times the
#: configurations). At this bound (e.g. 18 conditions, 6 age bins, 2 binary outer causes) a row with a known
#: age and a dozen findings takes about 1 ms, still well below a contraction of such a network; one prior
#: (per evidence on the summed-out variables) then takes 64 MiB, and a call stacks as many as fit the
#: prior cache's bound (at least one).
UNIVERSAL_LIMIT = 2**23
#: Rows whose P(e) is below this are left to the contraction (an intermediate may have lost digits).
_Z_FLOOR = 1e-280
#: log2 of the tile of condition configurations handled at once (its gathered tables stay in cache).
_TILE_BITS = 10
#: Rows per block of the kernel: the gathered tiles are shared by a block's rows.
_BLOCK_ROWS = 256
#: Bytes of priors (one per distinct evidence on the summed-out variables) kept per program.
_PRIOR_CACHE_BYTES = 64 * 2**20

#: numba's parallel kernels are launched one at a time (a kernel already uses every core).
_LAUNCH = threading.Lock()
#: Set in a process forked from this one: GNU OpenMP (numba's threading layer here) cannot start its
#: threads again after a fork (the child hangs), so a forked child runs the kernel on one thread.
_FORKED = [False]
if hasattr(os, "register_at_fork"):  # pragma: no branch - POSIX
    os.register_at_fork(after_in_child=lambda: _FORKED.__setitem__(0, True))


class UniversalProgram:
    """The enumeration of a model's conditions that serves every evidence pattern.

    Built by :func:`build_universal`. :meth:`run` takes each row's evidence
    as state indices (-1: not observed) and optional likelihoods and returns
    ``P(Q_j present | e)`` and ``log P(e)``.

    Attributes
    ----------
    queries : tuple of str
        The enumerated conditions (two states each), in output order.
    outer : tuple of str
        Non-query parents of leaves, enumerated around the conditions.
    upstream : tuple of str
        Variables summed out into the prior.
    leaves : tuple of str
        Variables without children (the findings and tests, mostly).
    size : int
        Configurations enumerated at most per row (outer x conditions).
    """

    def __init__(self, network, tables: Mapping[str, np.ndarray], queries: Sequence[str]):
        cards = network.cards
        children: dict[str, list[str]] = {v: [] for v in network.variables}
        for v in network.variables:
            for p in network.parents[v]:
                children[p].append(v)
        query_set = set(queries)
        self.queries = tuple(queries)
        self.query_number = {q: j for j, q in enumerate(self.queries)}
        self.leaves = tuple(v for v in network.variables if not children[v] and v not in query_set)
        leaf_set = set(self.leaves)
        leaf_parents = {p for v in self.leaves for p in network.parents[v]}
        self.outer = tuple(v for v in network.variables if v in leaf_parents and v not in query_set)
        self.upstream = tuple(v for v in network.variables if v not in leaf_set | query_set | set(self.outer))
        self.cards = dict(cards)
        self.outer_shape = tuple(cards[v] for v in self.outer)
        self.n_outer = math.prod(self.outer_shape)
        nq = len(self.queries)
        self.nq = nq
        self.size = self.n_outer * 2**nq
        self.bits = min(nq, _TILE_BITS)
        # the leaves of the kernel: the real leaves, then one indicator per query (evidence on a condition)
        kernel_leaves = [(v, tuple(network.parents[v]), np.asarray(tables[v], dtype=float)) for v in self.leaves]
        kernel_leaves += [(q, (q,), np.eye(2)) for q in self.queries]
        self.leaf_number = {v: i for i, (v, _, _) in enumerate(kernel_leaves)}
        self.leaf_cards = np.array([t.shape[0] for _, _, t in kernel_leaves], dtype=np.int64)
        self.max_card = int(self.leaf_cards.max()) if len(self.leaf_cards) else 1
        npa = [math.prod(t.shape[1:]) for _, _, t in kernel_leaves]
        self.leaf_npa = np.array(npa, dtype=np.int64)
        flat = [np.ascontiguousarray(t).reshape(-1) for _, _, t in kernel_leaves]
        self.leaf_base = np.array(np.cumsum([0] + [f.size for f in flat])[:-1], dtype=np.int64)
        self.tab = np.concatenate(flat) if flat else np.zeros(1)
        size_lo, n_hi = 1 << self.bits, 1 << (nq - self.bits)
        self.lo_idx = np.zeros((len(kernel_leaves), size_lo), dtype=np.int64)
        self.hi_idx = np.zeros((len(kernel_leaves), self.n_outer, n_hi), dtype=np.int64)
        lo, hi = np.arange(size_lo), np.arange(n_hi)
        outer_states = np.unravel_index(np.arange(self.n_outer), self.outer_shape) if self.outer else ()
        qbit = {q: j for j, q in enumerate(self.queries)}
        for k, (_, parents, table) in enumerate(kernel_leaves):
            strides = [math.prod(table.shape[2 + i :]) for i in range(len(parents))]
            for p, stride in zip(parents, strides):
                if p in qbit:
                    j = qbit[p]
                    if j < self.bits:
                        self.lo_idx[k] += ((lo >> j) & 1) * stride
                    else:
                        self.hi_idx[k] += (((hi >> (j - self.bits)) & 1) * stride)[None, :]
                else:
                    self.hi_idx[k] += (outer_states[self.outer.index(p)] * stride)[:, None]
        # the prior over (outer, conditions) given evidence on the summed-out variables: one contraction
        interior = [v for v in network.variables if v not in leaf_set]
        symbol = {v: opt_einsum.get_symbol(i) for i, v in enumerate(interior)}
        terms = ["".join(symbol[a] for a in (v, *network.parents[v])) for v in interior]
        terms += [symbol[v] for v in self.upstream]
        out = "".join(symbol[v] for v in self.outer) + "".join(symbol[q] for q in reversed(self.queries))
        shapes = [np.shape(tables[v]) for v in interior] + [(cards[v],) for v in self.upstream]
        self._prior_expr = opt_einsum.contract_expression(",".join(terms) + "->" + out, *shapes, optimize="greedy")
        self._interior_tables = [np.asarray(tables[v], dtype=float) for v in interior]
        self._priors = LruCache(_PRIOR_CACHE_BYTES)

    # -- priors ---------------------------------------------------------------
    def prior(self, likelihoods: Sequence[np.ndarray]) -> np.ndarray:
        """``P(outer, Q, upstream evidence)`` as ``(n_outer, 2^nq)``, for one likelihood per upstream variable."""
        key = tuple(np.asarray(lam, dtype=float).tobytes() for lam in likelihoods)
        hit = self._priors.get(key)
        if hit is None:
            hit = self._prior_expr(*self._interior_tables, *likelihoods).reshape(self.n_outer, -1)
            self._priors.put(key, hit, hit.nbytes)
        return hit

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_priors"] = None  # rebuilt empty (a cache, and it holds a lock)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._priors = LruCache(_PRIOR_CACHE_BYTES)

    # -- running --------------------------------------------------------------
    def run(self, states: Mapping[str, np.ndarray], soft: Mapping[str, np.ndarray], batch: int, parallel: bool = True):
        """Posteriors of the queries for a batch of rows, each with its own observed variables.

        Parameters
        ----------
        states : mapping
            Variable -> int array ``(B,)`` (or an int for every row): the
            observed state, -1 where not observed in one state.
        soft : mapping
            Variable -> float array ``(B, k)`` (or ``(k,)``): a likelihood
            with largest entry 1, NaN rows where none. A row may not give a
            variable both a state and a likelihood.
        batch : int
            Number of rows.
        parallel : bool
            Share the rows among numba's threads (large batches only).

        Returns
        -------
        present : numpy.ndarray
            ``(B, nq)``: P(query present | e).
        log_z : numpy.ndarray
            ``(B,)``: log P(e) (of the likelihoods as given).
        done : numpy.ndarray
            ``(B,)`` bool: False for rows whose P(e) is too small to trust here (recompute them).
        """
        cards = self.cards
        coded = self._prior_codes(states, soft, batch)
        if coded is not None:
            keys = np.unique(coded[0])
            per_call = max(1, _PRIOR_CACHE_BYTES // (8 * self.size))  # priors one call may stack
            if len(keys) > per_call:
                return self._by_prior_groups(states, soft, batch, coded[0], keys, per_call, parallel)
        # outer weights: each row's likelihood of every outer configuration
        outer_w = np.ones((batch, self.n_outer))
        for i, v in enumerate(self.outer):
            lam = _row_likelihoods(v, cards[v], states, soft, batch)
            if lam is not None:
                shape = [1] * (len(self.outer) + 1)
                shape[0], shape[i + 1] = batch, cards[v]
                outer_w = (outer_w.reshape((batch,) + self.outer_shape) * lam.reshape(shape)).reshape(batch, self.n_outer)
        prior, row_prior = self._row_priors(states, soft, batch, coded)
        prior = np.ascontiguousarray(prior)
        # each row's observed state of every leaf (-1: none), and its likelihoods (compressed rows)
        hard = np.full((batch, len(self.leaf_number)), -1, dtype=np.int8)
        for v, s in states.items():
            k = self.leaf_number.get(v)
            if k is not None:
                hard[:, k] = s
        soft_rows, soft_leaf, soft_lam = [], [], []
        for v, lam in soft.items():
            k = self.leaf_number.get(v)
            if k is None:
                continue
            lam = np.broadcast_to(np.asarray(lam, dtype=float), (batch, cards[v]))
            at = np.flatnonzero(~np.isnan(lam[:, 0]))
            soft_rows.append(at)
            soft_leaf.append(np.full(len(at), k, dtype=np.int64))
            padded = np.zeros((len(at), self.max_card))
            padded[:, : cards[v]] = lam[at]
            soft_lam.append(padded)
        soft_ptr = np.zeros(batch + 1, dtype=np.int64)
        if soft_rows:
            row = np.concatenate(soft_rows)
            order = np.argsort(row, kind="stable")
            soft_leaf_a = np.concatenate(soft_leaf)[order]
            soft_lam_a = np.ascontiguousarray(np.concatenate(soft_lam)[order])
            np.cumsum(np.bincount(row, minlength=batch), out=soft_ptr[1:])
        else:
            soft_leaf_a, soft_lam_a = np.zeros(0, dtype=np.int64), np.zeros((0, self.max_card))
        # rows of the same outer evidence side by side: a block then skips the other outer configurations
        if self.n_outer > 1 and batch > 1:
            code = np.where((outer_w != 0).sum(axis=1) == 1, outer_w.argmax(axis=1), self.n_outer)
            perm = np.argsort(code.astype(np.int32), kind="stable").astype(np.int64)
        else:
            perm = np.arange(batch, dtype=np.int64)
        z = np.empty(batch)
        m = np.empty((batch, self.nq))
        args = (
            perm, prior, row_prior, outer_w, self.tab, self.leaf_base, self.leaf_npa, self.leaf_cards,
            self.lo_idx, self.hi_idx, hard, soft_ptr, soft_leaf_a, soft_lam_a, self.nq, self.bits,
        )
        from ._kernels import run_block, run_parallel  # numba compiles (or loads its cache) on first use

        if parallel and batch > _BLOCK_ROWS and not _FORKED[0]:
            with _LAUNCH:
                run_parallel(*args, _BLOCK_ROWS, z, m)
        else:
            run_block(0, batch, *args, z, m)
        done = z >= _Z_FLOOR
        with np.errstate(divide="ignore"):
            log_z = np.log(z)
        return m / np.where(done, z, 1.0)[:, None], log_z, done

    def _by_prior_groups(self, states, soft, batch, codes, keys, per_call, parallel):
        """:meth:`run` on the rows of a few priors at a time (their stacked priors stay within the cache's bound)."""
        present, log_z, done = np.empty((batch, self.nq)), np.empty(batch), np.empty(batch, dtype=bool)
        for start in range(0, len(keys), per_call):
            rows = np.flatnonzero(np.isin(codes, keys[start : start + per_call]))
            part = self.run(
                {v: _pick(s, rows, 1) for v, s in states.items()}, {v: _pick(lam, rows, 2) for v, lam in soft.items()},
                len(rows), parallel,
            )
            present[rows], log_z[rows], done[rows] = part
        return present, log_z, done

    def marginals(self, states, soft, batch: int, queries: Sequence[str]):
        """:meth:`run` as ``({query: (B, 2) posterior}, log P(e), done)``; rows not done have zero marginals."""
        present, log_z, done = self.run(states, soft, batch)
        both = np.empty((batch, self.nq, 2))
        both[:, :, 1] = present
        np.maximum(1.0 - present, 0.0, out=both[:, :, 0])
        both *= done[:, None, None]
        return {q: both[:, self.query_number[q]] for q in queries}, log_z, done

    def _prior_codes(self, states, soft, batch) -> tuple[np.ndarray, int] | None:
        """A number per row naming its evidence on the summed-out variables (rows with a likelihood: their own), and the radix."""
        cards = self.cards
        if not any(v in states or v in soft for v in self.upstream):
            return None
        hard_codes = np.zeros(batch, dtype=np.int64)
        radix = 1
        soft_rows = np.zeros(batch, dtype=bool)
        for v in self.upstream:
            s = states.get(v)
            if s is not None:
                hard_codes = hard_codes + (np.broadcast_to(np.asarray(s, dtype=np.int64), (batch,)) + 1) * radix
            radix *= cards[v] + 1
            lam = soft.get(v)
            if lam is not None:
                soft_rows |= ~np.isnan(np.broadcast_to(np.asarray(lam, dtype=float), (batch, cards[v]))[:, 0])
        if soft_rows.any():  # each row with a likelihood on a summed-out variable gets its own prior
            return np.where(soft_rows, radix + np.arange(batch), hard_codes), radix
        return hard_codes, radix

    def _row_priors(self, states, soft, batch, coded) -> tuple[np.ndarray, np.ndarray]:
        """The distinct priors the rows need ``(K, n_outer, 2^nq)`` and each row's one."""
        cards = self.cards
        if coded is None:
            return self.prior([np.ones(cards[v]) for v in self.upstream])[None], np.zeros(batch, dtype=np.int64)
        codes, radix = coded
        distinct, row_prior = np.unique(codes, return_inverse=True)
        priors = []
        for code in distinct:
            row = int(np.argmax(codes == code)) if code >= radix else None
            lams = []
            for v in self.upstream:
                card = cards[v]
                if row is not None:
                    given = {v: _at(states[v], row)} if v in states else {}
                    lam = _row_likelihoods(v, card, given, {v: _at(soft[v], row, 2)} if v in soft else {}, 1)
                    lams.append(np.ones(card) if lam is None else lam[0])
                    continue
                state = int(code % (card + 1)) - 1
                code //= card + 1
                lams.append(np.ones(card) if state < 0 else np.eye(card)[state])
            priors.append(self.prior(lams))
        return np.stack(priors), np.ascontiguousarray(row_prior.reshape(-1), dtype=np.int64)

    @property
    def per_row_bytes(self) -> int:
        """Bytes one row of a run holds (outer weights, entries, outputs), about."""
        return 8 * (self.n_outer + self.nq + 4 + len(self.leaf_number) * (3 + self.max_card))


def _pick(value, rows: np.ndarray, ndim: int):
    """Some rows of a batched input (an unbatched one as is)."""
    value = np.asarray(value)
    return value[rows] if value.ndim == ndim else value


def _at(value, row: int, ndim: int = 1):
    """Row ``row`` of a batched input (an unbatched one as is), kept as a batch of one."""
    if value is None:
        return None
    value = np.asarray(value)
    return value[row : row + 1] if value.ndim == ndim else value


def _row_likelihoods(var: str, card: int, states, soft, batch: int) -> np.ndarray | None:
    """Each row's likelihood over ``var``'s states (ones where it is not observed), or None if no row observes it."""
    s, lam = states.get(var), soft.get(var)
    if s is None and lam is None:
        return None
    out = np.ones((batch, card))
    if s is not None:
        s = np.broadcast_to(np.asarray(s, dtype=np.int64), (batch,))
        at = np.flatnonzero(s >= 0)
        out[at] = 0.0
        out[at, s[at]] = 1.0
    if lam is not None:
        lam = np.broadcast_to(np.asarray(lam, dtype=float), (batch, card))
        at = np.flatnonzero(~np.isnan(lam[:, 0]))
        out[at] = lam[at]
    return out


def build_universal(network, tables: Mapping[str, np.ndarray], queries: Sequence[str], limit: int) -> UniversalProgram | None:
    """The universal program of a model, or None if a query has more than two states or it exceeds ``limit``."""
    queries = tuple(queries)
    if not queries or limit <= 0 or any(network.cards[q] != 2 for q in queries):
        return None
    query_set = set(queries)
    has_children = {p for v in network.variables for p in network.parents[v]}
    leaf_parents = {p for v in network.variables if v not in has_children and v not in query_set for p in network.parents[v]}
    outer = math.prod(network.cards[v] for v in network.variables if v in leaf_parents and v not in query_set)
    if outer * 2 ** len(queries) > limit:
        return None
    return UniversalProgram(network, tables, queries)
