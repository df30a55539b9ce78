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

The enumeration is a numba kernel over blocks of rows. The configurations of
the conditions are visited by *level*, the number of conditions present
(``C(nq, k)`` configurations at level ``k``), in tiles of at most
:data:`_TILE`. Within a block, for each outer configuration and each tile,
every leaf's table entries are gathered once into contiguous vectors; each
row multiplies its prior tile by the vectors of its observed entries, and the
block's tiles are folded into ``P(e)``, ``P(Q_j present, e)``, the mass of
each outer configuration and, at level 0, the mass with no condition
present, four rows at a time.

Stopping by level: the conditions are rare, so the prior mass above a level
falls fast (on the bundled model about 1e-13 of an age bin's mass lies above
four conditions present, 1e-17 above five). Every factor of a row is at
most 1 (likelihoods are scaled to a largest entry of 1), so the levels not
yet visited can add at most their prior mass (their *tail*, computed with
the prior) to P(e) and to each ``P(Q_j, e)``. After each level, an outer
configuration of a row is done once, divided among its k possible outer
configurations, its weighted tail is at most :data:`TAIL_TOLERANCE` times the
row's P(e) so far, and for each condition the tail of the configurations
with that condition present is at most :data:`RELATIVE_TOLERANCE` times its
``P(Q_j, e)`` so far: each posterior is then within 1e-15 of the full
enumeration's and within a relative 1e-10 of itself, and P(e) low by at most
a fraction 1e-15; ``tolerance = 0`` enumerates everything. Only sums and
products of the tables' own numbers are formed. A product can only underflow
if ``P(e)`` itself is tiny: rows whose ``P(e)`` is below :data:`_Z_FLOOR` are
reported as not done and the engine recomputes them by contraction (with
rescaling), which also names impossible evidence.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np
import opt_einsum

from .joint import LruCache

__all__ = ["UniversalProgram", "UniversalRun", "TAIL_TOLERANCE", "INDEX_BYTES_LIMIT", "build_universal", "UNIVERSAL_LIMIT"]

#: Largest enumeration (outer configurations x configurations of the conditions) compiled into one program;
#: larger models run pattern by pattern. Measured on the bundled model (2 vCPUs, 2026-12-03): a row of the
#: registry cohort (its age and ~10 findings and tests) stops after four or five conditions present and takes
#: about 55 us; the full enumeration (``tolerance = 0``) about 0.6 ms. One prior (per evidence on the summed-out
#: variables) takes 8 bytes per configuration, and a call stacks as many as fit the prior cache's bound.
UNIVERSAL_LIMIT = 2**23
#: Bytes the program's index arrays (each leaf's table offset and each condition's indicator per configuration
#: of the conditions) may take: 20 MiB on the bundled model; a model past it runs pattern by pattern.
INDEX_BYTES_LIMIT = 512 * 2**20
#: Rows whose P(e) is below this are left to the contraction (an intermediate may have lost digits).
_Z_FLOOR = 1e-280
#: Configurations of the conditions handled at once (their gathered tables stay in cache).
_TILE = 1024
#: A row's enumeration stops at the end of a level (a number of conditions present) once the prior mass of
#: the levels left, which bounds what they could add, is at most this fraction of its P(e) so far (each
#: posterior is then within this of the full enumeration's; 0: enumerate until nothing is left) ...
TAIL_TOLERANCE = 1e-15
#: ... and, for each condition, the prior mass of the levels left with it present is at most this fraction of
#: its P(Q_j present, e) so far: every posterior is then also within about this of itself, relatively (the
#: odds of a rare condition, ratios of small posteriors).
RELATIVE_TOLERANCE = 1e-10
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


class UniversalRun(NamedTuple):
    """What :meth:`UniversalProgram.run` gives per row."""

    #: ``(B, nq)``: P(query present | e).
    present: np.ndarray
    #: ``(B, n_outer)``: P(outer configuration | e).
    outer: np.ndarray
    #: ``(B,)``: P(no query present | e).
    none: np.ndarray
    #: ``(B,)``: log P(e) (of the likelihoods as given).
    log_z: np.ndarray
    #: ``(B,)`` bool: False for rows whose P(e) is too small to trust here (recompute them).
    done: np.ndarray


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
        self.tolerance = TAIL_TOLERANCE
        self.relative_tolerance = RELATIVE_TOLERANCE
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
        # configurations of the conditions in order of the number present (bit j: Q[j] present), level by level
        configs = np.arange(2**nq, dtype=np.int64)
        count = np.zeros(2**nq, dtype=np.int64)
        for j in range(nq):
            count += (configs >> j) & 1
        self.order = np.argsort(count, kind="stable")
        self.level_ptr = np.searchsorted(count[self.order], np.arange(nq + 2)).astype(np.int64)
        present_bits = (self.order[:, None] >> np.arange(nq)[None, :]) & 1  # (2^nq, nq), in the kernel's order
        # (nq + 1, 2^nq): 1 where Q[j] is present, then a row of ones (the kernel's fold is a matrix product)
        self.bit_weight = np.ascontiguousarray(np.vstack([present_bits.T, np.ones(2**nq)]), dtype=float)
        # where each configuration of the conditions, and each outer configuration, sits within a table's column
        query_stride = np.zeros((len(kernel_leaves), nq), dtype=np.int64)
        self.outer_off = np.zeros((len(kernel_leaves), self.n_outer), dtype=np.int64)
        outer_states = np.unravel_index(np.arange(self.n_outer), self.outer_shape) if self.outer else ()
        qbit = {q: j for j, q in enumerate(self.queries)}
        for k, (_, parents, table) in enumerate(kernel_leaves):
            strides = [math.prod(table.shape[2 + i :]) for i in range(len(parents))]
            for p, stride in zip(parents, strides):
                if p in qbit:
                    query_stride[k, qbit[p]] = stride
                else:
                    self.outer_off[k] += outer_states[self.outer.index(p)] * stride
        offset_type = np.int32 if int(self.leaf_npa.max(initial=1)) < 2**31 else np.int64
        self.query_offset = np.ascontiguousarray((query_stride @ present_bits.T).astype(offset_type))
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
    def prior(self, likelihoods: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``P(outer, Q, upstream evidence)`` and its tails, for one likelihood per upstream variable.

        Returns
        -------
        prior : numpy.ndarray
            ``(n_outer, 2^nq)``, the configurations of the conditions in the
            kernel's order (by the number present, :attr:`order`).
        tail : numpy.ndarray
            ``(n_outer, nq + 1)``: entry ``k`` is the prior mass of the
            configurations with more than ``k`` conditions present.
        condition_tail : numpy.ndarray
            ``(n_outer, nq + 1, nq)``: the same over the configurations with
            ``Q[j]`` present.
        """
        key = tuple(np.asarray(lam, dtype=float).tobytes() for lam in likelihoods)
        hit = self._priors.get(key)
        if hit is None:
            joint = self._prior_expr(*self._interior_tables, *likelihoods).reshape(self.n_outer, -1)
            ordered = np.ascontiguousarray(joint[:, self.order])
            per_level = np.add.reduceat(ordered, self.level_ptr[:-1], axis=1)  # (n_outer, nq + 1)
            # the same with each condition present: (n_outer, nq + 1, nq)
            per_level_q = np.stack(
                [np.add.reduceat(ordered * self.bit_weight[j], self.level_ptr[:-1], axis=1) for j in range(self.nq)],
                axis=-1,
            )
            tail, condition_tail = (_above_each_level(levels) for levels in (per_level, per_level_q))
            hit = (ordered, tail, np.ascontiguousarray(condition_tail))
            self._priors.put(key, hit, ordered.nbytes + tail.nbytes + condition_tail.nbytes)
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
        UniversalRun
            Each row's P(Q_j present | e), posterior of the outer
            configurations, P(no query present | e), log P(e) and whether
            it is done.
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
        prior, tail, condition_tail, row_prior = self._row_priors(states, soft, batch, coded)
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
            nonzero = outer_w != 0
            if self.n_outer <= 62:
                code = nonzero @ (np.int64(1) << np.arange(self.n_outer, dtype=np.int64))
            else:
                code = np.unique(nonzero, axis=0, return_inverse=True)[1].reshape(-1)
            perm = np.argsort(code, kind="stable").astype(np.int64)
        else:
            perm = np.arange(batch, dtype=np.int64)
        z = np.empty(batch)
        m = np.empty((batch, self.nq))
        z_outer = np.empty((batch, self.n_outer))
        z_none = np.zeros((batch, self.n_outer))
        args = (
            perm, prior, tail, condition_tail, row_prior, outer_w, self.tab, self.leaf_base, self.leaf_npa, self.leaf_cards,
            self.outer_off, self.query_offset, self.bit_weight, self.level_ptr, _TILE, hard, soft_ptr, soft_leaf_a,
            soft_lam_a, float(self.tolerance), float(self.relative_tolerance),
        )
        from ._kernels import run_block, run_parallel  # numba compiles (or loads its cache) on first use

        if parallel and batch > _BLOCK_ROWS and not _FORKED[0]:
            with _LAUNCH:
                run_parallel(*args, _BLOCK_ROWS, z, m, z_outer, z_none)
        else:
            run_block(0, batch, *args, z, m, z_outer, z_none)
        done = z >= _Z_FLOOR
        with np.errstate(divide="ignore"):
            log_z = np.log(z)
        scale = 1.0 / np.where(done, z, 1.0)
        return UniversalRun(
            m * scale[:, None], z_outer * scale[:, None], np.minimum(z_none.sum(axis=1) * scale, 1.0), log_z, done
        )

    def _by_prior_groups(self, states, soft, batch, codes, keys, per_call, parallel) -> UniversalRun:
        """:meth:`run` on the rows of a few priors at a time (their stacked priors stay within the cache's bound)."""
        out = UniversalRun(
            np.empty((batch, self.nq)), np.empty((batch, self.n_outer)), np.empty(batch), np.empty(batch),
            np.empty(batch, dtype=bool),
        )
        for start in range(0, len(keys), per_call):
            rows = np.flatnonzero(np.isin(codes, keys[start : start + per_call]))
            part = self.run(
                {v: _pick(s, rows, 1) for v, s in states.items()}, {v: _pick(lam, rows, 2) for v, lam in soft.items()},
                len(rows), parallel,
            )
            for mine, theirs in zip(out, part):
                mine[rows] = theirs
        return out

    def answers(self, var: str) -> bool:
        """Whether :meth:`marginals` gives ``var``'s posterior (a query or an outer variable)."""
        return var in self.query_number or var in self.outer

    def marginals(self, states, soft, batch: int, queries: Sequence[str]):
        """:meth:`run` as ``({query: (B, k) posterior}, log P(e), done)``; rows not done have zero marginals.

        ``queries`` may name the conditions and the outer variables (the age,
        residual causes: :meth:`answers`).
        """
        return self.marginals_and_none(states, soft, batch, queries)[:3]

    def marginals_and_none(self, states, soft, batch: int, queries: Sequence[str]):
        """:meth:`marginals` and, last, each row's P(no query present | e) (0 in rows not done)."""
        result = self.run(states, soft, batch)
        done = result.done
        out = {}
        outer = None
        for q in queries:
            if q in self.query_number:
                both = np.empty((batch, 2))
                both[:, 1] = result.present[:, self.query_number[q]]
                np.maximum(1.0 - both[:, 1], 0.0, out=both[:, 0])
            else:
                if outer is None:
                    outer = result.outer.reshape((batch,) + self.outer_shape)
                axis = 1 + self.outer.index(q)
                both = outer.sum(axis=tuple(a for a in range(1, outer.ndim) if a != axis))
                both = both / np.where(done, both.sum(axis=1), 1.0)[:, None]
            out[q] = both * done[:, None]
        return out, result.log_z, done, result.none * done

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

    def _row_priors(self, states, soft, batch, coded) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The distinct priors the rows need ``(K, n_outer, 2^nq)``, their two tails (see :meth:`prior`) and each row's one."""
        cards = self.cards
        if coded is None:
            prior, tail, condition_tail = self.prior([np.ones(cards[v]) for v in self.upstream])
            return prior[None], tail[None], condition_tail[None], np.zeros(batch, dtype=np.int64)
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
        row_prior = np.ascontiguousarray(row_prior.reshape(-1), dtype=np.int64)
        if len(priors) == 1:  # no copy of the one prior (it is large)
            return (*(part[None] for part in priors[0]), row_prior)
        return (*(np.stack([prior[i] for prior in priors]) for i in range(3)), row_prior)

    @property
    def per_row_bytes(self) -> int:
        """Bytes one row of a run holds (outer weights and masses, entries, outputs), about."""
        return 8 * (3 * self.n_outer + self.nq + 4 + len(self.leaf_number) * (3 + self.max_card))


def _above_each_level(per_level: np.ndarray) -> np.ndarray:
    """Sums over the levels above each level (axis 1; zero above the last)."""
    above = np.zeros_like(per_level)
    above[:, :-1] = np.cumsum(per_level[:, :0:-1], axis=1)[:, ::-1]
    return above


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
    n_leaves = sum(1 for v in network.variables if v not in has_children and v not in query_set) + len(queries)
    if 2 ** len(queries) * (4 * n_leaves + 8 * (len(queries) + 1)) > INDEX_BYTES_LIMIT:
        return None
    return UniversalProgram(network, tables, queries)
