"""Exact inference compiled to tensor contractions (numpy + opt_einsum).

For a given evidence *pattern* (which variables are observed, and whether
each is observed in one state or through likelihoods) the network is pruned
to the ancestors of the observed and queried variables (the others are barren
and sum to one), written as one einsum over the conditional tables and the
likelihood vectors of soft evidence, and given a contraction order by
opt_einsum. The compiled program is cached by pattern.

Hard evidence (one state per row) is not multiplied in as a one-hot vector:
every table that mentions an observed variable is *sliced* at the observed
states, row by row (a gather), so the observed axes never enter the
contraction. The batch axis (cases, or parameter draws) is the first axis of
every sliced table, soft likelihood and batched table.

Each step of the contraction is a stacked matrix product (``numpy.matmul``):
the two operands are laid out as ``(batch, S, L, C)`` and ``(batch, S, C, R)``
(indices both keep, indices one keeps, indices contracted), moving runs of
adjacent axes together. One forward pass computes ``Z = P(e)`` for every row;
one backward pass (reverse-mode differentiation of the contraction tree, the
differential approach of Darwiche 2003) gives ``dZ/dtheta`` for every table
entry. Marginals follow from ``P(x, e) = sum_u theta_{x|u} dZ/dtheta_{x|u}``
and, divided by ``Z``, are the posteriors; the same derivatives feed one-way
sensitivity analysis.

Parts of the tree that depend on neither the batch nor a needed derivative
are contracted once at compile time. Every operand holds probabilities (soft
likelihoods are divided by their largest entry, which goes into
``log P(e)``), so an intermediate can only underflow if ``Z`` itself is tiny:
rows whose ``Z`` falls under a bound derived from the table sizes are run
again with per-row rescaling of every intermediate, the scale being carried
in ``log P(e)``. Batches are cut into chunks whose intermediates fit a memory
budget (:attr:`CompiledEngine.memory_budget`).

The posteriors of the conditions, without derivatives and on the model's
own tables, come from one program per model that serves every evidence
pattern (:mod:`omsbayes.engine.universal`): an unobserved finding is a
likelihood of ones, so rows observing different variables share it and a
cohort never compiles per pattern. Other posteriors without derivatives take
a faster route when the pattern leaves few unobserved variables (the default model's
diagnostic patterns leave the 12 conditions): the joint of those variables is
enumerated for the whole batch at once (:mod:`omsbayes.engine.joint`). The
contraction serves derivatives, batched tables and larger joints. The BLAS
library is held to one thread during runs; large batches can be shared among
worker threads (:attr:`CompiledEngine.threads`).

References
----------
Darwiche A. A differential approach to inference in Bayesian networks.
J ACM 2003;50(3):280-305.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import opt_einsum

from .joint import JointProgram, LruCache, build_joint
from .threads import blas_threads as _blas_threads
from .universal import UNIVERSAL_LIMIT, UniversalProgram, build_universal

__all__ = [
    "CompiledEngine",
    "EngineResult",
    "Network",
    "SlicedTables",
    "MEMORY_BUDGET_BYTES",
    "CHUNK_ROWS",
    "COHORT_CHUNK_ROWS",
    "JOINT_LIMIT",
    "UNIVERSAL_LIMIT",
]

#: Default bound (bytes) on the intermediates one chunk of a batch may hold.
MEMORY_BUDGET_BYTES = 256 * 2**20
#: Rows per chunk at most, whatever the budget: chunks of this size keep the
#: intermediates in cache and are faster than one huge batch.
CHUNK_ROWS = 512
#: Rows per chunk at most when a cohort runs through the universal program (its per-row state is small).
COHORT_CHUNK_ROWS = 2**16
#: Compiled programs kept per engine (each kind; the least recently used go first).
MAX_PROGRAMS = 256
#: Bytes of the enumeration's table matrices kept per engine, over all patterns.
WEIGHT_CACHE_BYTES = 256 * 2**20
#: Largest joint (configurations of the variables left unobserved) enumerated instead of contracted.
JOINT_LIMIT = 8192
#: Batches smaller than this run without touching the BLAS thread setting (their products are single-threaded anyway).
_THREADED_ROWS = 16
#: A batch is shared among worker threads only if each gets at least this many rows.
_ROWS_PER_THREAD = 64
#: Batch size assumed when choosing a contraction order for large batches.
_BATCH_HINT = 512
#: A rescaled intermediate's rows are divided by their maximum when it falls below this.
_TINY = 1e-150
#: Natural log of the smallest value an intermediate may reach without rescaling (far above underflow).
_LOG_FLOOR = -280 * math.log(10)


@dataclass(frozen=True)
class Network:
    """The structure the engine needs: variables, parents, cardinalities (topological order)."""

    variables: tuple[str, ...]
    parents: Mapping[str, tuple[str, ...]]
    cards: Mapping[str, int]

    @classmethod
    def of(cls, model) -> Network:
        return cls(
            variables=tuple(model.variables),
            parents={v: tuple(model.parents(v)) for v in model.variables},
            cards={v: len(model.states(v)) for v in model.variables},
        )

    def ancestors(self, names) -> set[str]:
        """The names and all their ancestors."""
        out: set[str] = set()
        stack = list(names)
        while stack:
            v = stack.pop()
            if v not in out:
                out.add(v)
                stack.extend(self.parents[v])
        return out


@dataclass
class EngineResult:
    """Output of one batched run.

    Attributes
    ----------
    marginals : dict
        Variable -> array ``(B, k)``: the posterior of each queried variable
        (all zeros in a row whose evidence is impossible).
    log_evidence : numpy.ndarray
        ``log P(e)`` per batch row (natural log; ``-inf`` for impossible evidence).
    gradients : dict
        Variable -> array ``(B, *table shape)``: ``d log P(e) / d theta`` for every
        table entry (only when requested).
    """

    marginals: dict[str, np.ndarray]
    log_evidence: np.ndarray
    gradients: dict[str, np.ndarray] = field(default_factory=dict)


# ---------------------------------------------------------------------------
# the compiled program: a contraction tree with a forward and a backward pass
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class _Move:
    """A transpose of the per-row axes of a value, on runs of axes that move together.

    Merging the axes that stay adjacent keeps numpy's copy loops long (the
    tables have many axes of size 2, and a transpose over each of them one by
    one is slow).
    """

    grouped: tuple[int, ...]  # per-row sizes of the runs, in the value's own order
    perm: tuple[int, ...]  # batch axis, then the runs in the target order
    moved: tuple[int, ...]  # per-row sizes of the runs, in the target order
    inverse: tuple[int, ...]
    identity: bool

    @classmethod
    def between(cls, source: Sequence[str], target: Sequence[str], sizes: Mapping[str, int]) -> _Move:
        runs: list[list[str]] = []
        for s in target:
            if runs and source.index(s) == source.index(runs[-1][-1]) + 1:
                runs[-1].append(s)
            else:
                runs.append([s])
        starts = sorted(range(len(runs)), key=lambda r: source.index(runs[r][0]))
        size = [math.prod(sizes[s] for s in run) for run in runs]
        perm = tuple(starts.index(r) for r in range(len(runs)))
        inverse = tuple(int(i) for i in np.argsort(perm))
        return cls(
            grouped=tuple(size[r] for r in starts),
            perm=(0,) + tuple(1 + p for p in perm),
            moved=tuple(size),
            inverse=(0,) + tuple(1 + p for p in inverse),
            identity=perm == tuple(range(len(runs))),
        )

    def to_target(self, value: np.ndarray, shape3: tuple[int, ...]) -> np.ndarray:
        rows = value.shape[0]
        if self.identity:
            return value.reshape((rows,) + shape3)
        return value.reshape((rows,) + self.grouped).transpose(self.perm).reshape((rows,) + shape3)

    def to_source(self, value: np.ndarray, full: tuple[int, ...]) -> np.ndarray:
        rows = value.shape[0]
        if self.identity:
            return value.reshape((rows,) + full)
        # copied while the axes are still grouped: a copy over many size-2 axes one by one is slow
        return np.ascontiguousarray(value.reshape((rows,) + self.moved).transpose(self.inverse)).reshape((rows,) + full)


@dataclass
class _Step:
    """One node of the tree: a sum over some axes of one node, or a product of two.

    Every value carries a leading batch axis (of size 1 when it does not vary
    by row). A product is a stacked matrix product: the left operand laid out
    as ``(batch, S, L, C)``, the right one as ``(batch, S, C, R)``, where ``S``
    are the indices both keep, ``L`` and ``R`` those only one has and ``C``
    those contracted; the result ``(batch, S, L, R)`` is the node's index order.
    """

    left: int
    right: int  # -1 for a sum
    out: int
    out_sizes: tuple[int, ...]
    left_sizes: tuple[int, ...]
    right_sizes: tuple[int, ...] = ()
    # sum
    axes: tuple[int, ...] = ()  # axes of the grouped left value summed (the batch axis is 0)
    expand: tuple[int, ...] = ()  # grouped per-row shape of the result, the summed runs kept as 1
    grouped: tuple[int, ...] = ()  # per-row sizes of the left value's runs of kept and of summed axes
    # product
    lmove: _Move | None = None  # the left operand from its own order to (S, L, C)
    rmove: _Move | None = None  # the right operand to (S, C, R)
    lshape: tuple[int, int, int] = (1, 1, 1)  # (S, L, C) sizes, flattened
    rshape: tuple[int, int, int] = (1, 1, 1)  # (S, C, R)
    gshape: tuple[int, int, int] = (1, 1, 1)  # (S, L, R)
    contracts: bool = True


class _Program:
    """A contraction tree over a fixed list of operands (leaves).

    Parameters
    ----------
    leaves : list of tuple
        Indices of each operand; ``"#"`` marks an operand that varies by
        batch row (it is dropped from the index lists kept here: the batch
        axis is always the first axis of a value).
    needs_grad : list of bool
        Operands whose derivative is wanted.
    sizes : dict
        Index -> size.
    batch_hint : int
        Batch size assumed when choosing the contraction order.
    """

    def __init__(self, leaves, needs_grad, sizes, batch_hint):
        self.n_leaves = len(leaves)
        self.sizes = dict(sizes)
        self.node_batched: list[bool] = ["#" in idx for idx in leaves]
        self.node_idx: list[tuple[str, ...]] = [tuple(s for s in idx if s != "#") for idx in leaves]
        self.node_static = [not b and not g for b, g in zip(self.node_batched, needs_grad)]
        self.node_grad = list(needs_grad)  # subtree holds a leaf whose derivative is wanted
        self.has_batch = any(self.node_batched)
        self.steps: list[_Step] = []
        current = list(range(len(leaves)))
        for contraction in self._path(leaves, batch_hint):
            picked = sorted(contraction, reverse=True)
            nodes = [current.pop(i) for i in picked][::-1]
            remaining: set[str] = set()
            for n in current:
                remaining |= set(self.node_idx[n])
            if len(nodes) == 1:
                current.append(self._sum(nodes[0], remaining))
                continue
            left, right = nodes
            li, ri = self.node_idx[left], self.node_idx[right]
            # indices only one operand has and nobody needs later are summed first
            left = self._sum(left, remaining | set(ri))
            right = self._sum(right, remaining | set(li))
            current.append(self._product(left, right, remaining))
        if len(current) == 1 and self.node_idx[current[0]]:
            current = [self._sum(current[0], set())]
        self.root = current[0] if current else -1
        # Every operand's entries are at most 1, so Z <= K * max(node) * K for any node,
        # K the product of all index sizes: if Z is above _LOG_FLOOR + 2 log K, no
        # intermediate came near underflow.
        log_k = sum(math.log(n) for n in self.sizes.values())
        self.log_z_floor = _LOG_FLOOR + 2 * log_k
        self.folded: dict[int, np.ndarray] = {}

    def _path(self, leaves, batch_hint):
        if len(leaves) < 2:
            return []
        symbols = sorted({s for idx in leaves for s in idx})
        sym_of = {s: opt_einsum.get_symbol(i) for i, s in enumerate(symbols)}
        shapes = [tuple(batch_hint if s == "#" else self.sizes[s] for s in idx) for idx in leaves]
        out = sym_of["#"] if self.has_batch else ""
        eq = ",".join("".join(sym_of[s] for s in idx) for idx in leaves) + "->" + out
        path, _ = opt_einsum.contract_path(eq, *shapes, shapes=True, optimize="greedy")
        return path

    def _new_node(self, idx, batched, static, grad) -> int:
        self.node_idx.append(tuple(idx))
        self.node_batched.append(batched)
        self.node_static.append(static)
        self.node_grad.append(grad)
        return len(self.node_idx) - 1

    def _sum(self, node: int, keep: set[str]) -> int:
        """A node summing ``node`` over the indices not in ``keep`` (``node`` itself if there are none)."""
        idx = self.node_idx[node]
        axes = tuple(1 + i for i, s in enumerate(idx) if s not in keep)
        if not axes:
            return node
        out_idx = tuple(s for s in idx if s in keep)
        out = self._new_node(out_idx, self.node_batched[node], self.node_static[node], self.node_grad[node])
        # runs of adjacent axes that are all kept or all summed, so numpy loops over few long axes
        runs: list[list] = []
        for s in idx:
            if runs and (s in keep) == runs[-1][0]:
                runs[-1][1] *= self.sizes[s]
            else:
                runs.append([s in keep, self.sizes[s]])
        self.steps.append(
            _Step(
                node,
                -1,
                out,
                self._shape(out_idx),
                self._shape(idx),
                axes=tuple(1 + i for i, (kept, _) in enumerate(runs) if not kept),
                expand=tuple(size if kept else 1 for kept, size in runs),
                grouped=tuple(size for _, size in runs),
            )
        )
        return out

    def _product(self, left: int, right: int, keep: set[str]) -> int:
        li, ri = self.node_idx[left], self.node_idx[right]
        # shared and contracted indices follow the larger operand's order, so it moves less
        major = li if self._size(li) >= self._size(ri) else ri
        shared = [s for s in major if s in li and s in ri and s in keep]
        contracted = [s for s in major if s in li and s in ri and s not in keep]
        lonly = [s for s in li if s not in ri]
        ronly = [s for s in ri if s not in li]
        out_idx = tuple(shared + lonly + ronly)
        size = self._size
        out = self._new_node(
            out_idx,
            self.node_batched[left] or self.node_batched[right],
            self.node_static[left] and self.node_static[right],
            self.node_grad[left] or self.node_grad[right],
        )
        self.steps.append(
            _Step(
                left,
                right,
                out,
                self._shape(out_idx),
                self._shape(li),
                self._shape(ri),
                lmove=_Move.between(li, shared + lonly + contracted, self.sizes),
                rmove=_Move.between(ri, shared + contracted + ronly, self.sizes),
                lshape=(size(shared), size(lonly), size(contracted)),
                rshape=(size(shared), size(contracted), size(ronly)),
                gshape=(size(shared), size(lonly), size(ronly)),
                contracts=bool(contracted),
            )
        )
        return out

    def _shape(self, idx) -> tuple[int, ...]:
        return tuple(self.sizes[s] for s in idx)

    def _size(self, idx) -> int:
        return math.prod(self._shape(idx))

    def per_row_bytes(self, with_grads: bool) -> int:
        """Bytes held per batch row by a forward pass (and a backward one)."""
        elements = 0
        for n, idx in enumerate(self.node_idx):
            size = self._size(idx)
            if self.node_batched[n]:
                elements += 2 * size  # the value and its matrix layout
            if with_grads and self.node_grad[n]:
                elements += size
        return 8 * max(elements, 1)

    # -- evaluation ---------------------------------------------------------
    def fold(self, leaves: Sequence[np.ndarray | None]) -> None:
        """Contract the static part of the tree once (tables that neither vary by row nor need derivatives)."""
        values = {i: leaves[i] for i in range(self.n_leaves) if self.node_static[i]}
        for step in self.steps:
            if self.node_static[step.out]:
                values[step.out] = _forward_step(step, values, {})
        self.folded = {n: v for n, v in values.items() if n >= self.n_leaves}

    def forward(self, leaves: Sequence[np.ndarray], rescale: bool = False):
        """Values of every node, the operands in matrix layout, and per-row rescaling factors."""
        values: dict[int, np.ndarray] = dict(enumerate(leaves))
        values.update(self.folded)
        saved: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        factors: dict[int, np.ndarray] = {}
        for step in self.steps:
            if step.out in values:
                continue
            out = _forward_step(step, values, saved)
            if rescale and self.node_batched[step.out]:
                row_max = out.reshape(out.shape[0], -1).max(axis=1)
                small = (row_max < _TINY) & (row_max > 0)
                if small.any():
                    factor = np.where(small, row_max, 1.0)
                    out = out / factor.reshape((-1,) + (1,) * (out.ndim - 1))
                    factors[step.out] = factor
            values[step.out] = out
        return values, saved, factors

    def backward(self, values, saved, factors, want: set[int]) -> dict[int, np.ndarray]:
        """Derivatives of the (rescaled) root with respect to the wanted leaves, per batch row."""
        grads: dict[int, np.ndarray] = {self.root: np.ones_like(values[self.root])}
        wanted = self._wanted
        for step in reversed(self.steps):
            g = grads.pop(step.out, None)
            if g is None:
                continue
            if step.out in factors:  # the node was divided by a per-row factor
                g = g / factors[step.out].reshape((-1,) + (1,) * (g.ndim - 1))
            rows = g.shape[0]
            if step.right < 0:
                if wanted(step.left, want):
                    spread = np.broadcast_to(g.reshape((rows,) + step.expand), (rows,) + step.grouped)
                    grads[step.left] = np.ascontiguousarray(spread).reshape((rows,) + step.left_sizes)
                continue
            a, b = saved[step.out] if step.out in saved else _layout(step, values)
            gm = g.reshape((rows,) + step.gshape)
            if wanted(step.left, want):
                d = np.matmul(gm, b.swapaxes(-1, -2)) if step.contracts else (gm * b).sum(axis=-1, keepdims=True)
                grads[step.left] = step.lmove.to_source(d, step.left_sizes)
            if wanted(step.right, want):
                d = np.matmul(a.swapaxes(-1, -2), gm) if step.contracts else (a * gm).sum(axis=-2, keepdims=True)
                grads[step.right] = step.rmove.to_source(d, step.right_sizes)
        return {k: v for k, v in grads.items() if k in want}

    def _wanted(self, node: int, want: set[int]) -> bool:
        return node in want if node < self.n_leaves else self.node_grad[node]


def _layout(step: _Step, values) -> tuple[np.ndarray, np.ndarray]:
    """The two operands of a product as stacked matrices ``(batch, S, L, C)`` and ``(batch, S, C, R)``."""
    return step.lmove.to_target(values[step.left], step.lshape), step.rmove.to_target(values[step.right], step.rshape)


def _forward_step(step: _Step, values, saved) -> np.ndarray:
    if step.right < 0:
        value = values[step.left]
        return value.reshape(value.shape[:1] + step.grouped).sum(axis=step.axes).reshape(value.shape[:1] + step.out_sizes)
    a, b = _layout(step, values)
    saved[step.out] = (a, b)
    out = np.matmul(a, b) if step.contracts else a * b
    return out.reshape((out.shape[0],) + step.out_sizes)


def _log_scale(factors) -> np.ndarray | float:
    """Sum of log factors applied on the way to the root (per row)."""
    total = 0.0
    for f in factors.values():
        total = total + np.log(f)
    return total


# ---------------------------------------------------------------------------
# the leaves of a pattern
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class _TableLeaf:
    """A conditional table, sliced at the hard-observed axes (if any)."""

    var: str
    observed: tuple[int, ...]  # axes of the table (0 = the variable) that are hard-observed
    observed_vars: tuple[str, ...]
    strides: tuple[int, ...]  # flat index of the observed configuration = sum state * stride
    kept: tuple[int, ...]  # shape of the axes left after slicing
    unslice: _Move | None = None  # (observed axes, kept axes) back to the table's axis order


class SlicedTables(dict):
    """Batched tables already sliced at the hard evidence of the run they are given to.

    Each hard-observed axis of a table (the variable itself or a parent) has
    size 1 and holds the observed state, as :func:`omsbayes.tables.build_table`
    builds them with ``restrict``. Building only these slices is most of the
    saving when thousands of parameter draws are run for one case.
    Derivatives are not available with sliced tables.
    """


@dataclass(frozen=True)
class _SoftLeaf:
    var: str


@dataclass
class _Compiled:
    program: _Program
    leaves: list
    table_pos: dict[str, int]  # variable -> leaf position of its table
    per_row_bytes: int
    query_shape: dict[str, tuple[int, int, int]]  # query -> its table as (before, states, after)


# ---------------------------------------------------------------------------
# the engine
# ---------------------------------------------------------------------------
class CompiledEngine:
    """Exact, batched inference on one model, compiled per evidence pattern.

    Parameters
    ----------
    model : DiagnosticModel
        Its tables are used unless a run passes others (parameter draws).

    Attributes
    ----------
    memory_budget : int
        Bound in bytes on the intermediates of one chunk of a batch; larger
        batches are run chunk by chunk (default :data:`MEMORY_BUDGET_BYTES`).
    chunk_rows : int
        Rows per chunk at most (default :data:`CHUNK_ROWS`).
    joint_limit : int
        Posteriors without derivatives, on the model's own tables, enumerate
        the joint of the variables a pattern leaves unobserved when it has at
        most this many configurations (:mod:`omsbayes.engine.joint`); 0
        always contracts. Default :data:`JOINT_LIMIT`.
    universal_limit : int
        The posteriors of the conditions come from one program serving every
        pattern (:mod:`omsbayes.engine.universal`) when its enumeration has
        at most this many configurations; 0 switches it off. Default
        :data:`UNIVERSAL_LIMIT`.
    blas_threads : int or None
        Threads the BLAS library may use during a run (default 1: the
        engine's matrix products are small, and more threads cost more in
        start-up and contention than they save); None leaves BLAS alone.
    threads : int
        Worker threads that run the chunks of a large batch side by side
        (default 1: on the 2-vCPU benchmark machine two threads were slower,
        the enumeration being bound by memory bandwidth; try more on
        machines with more memory channels).
    """

    def __init__(self, model):
        self.network = Network.of(model)
        self._model = model
        self._programs: OrderedDict[tuple, _Compiled] = OrderedDict()
        self._joints: OrderedDict[tuple, JointProgram | None] = OrderedDict()
        self._flat: dict[tuple, np.ndarray] = {}
        self._weights = LruCache(WEIGHT_CACHE_BYTES)
        self.memory_budget = MEMORY_BUDGET_BYTES
        self.chunk_rows = CHUNK_ROWS
        self.joint_limit = JOINT_LIMIT
        self.universal_limit = UNIVERSAL_LIMIT
        self._universal: dict[int, UniversalProgram | None] = {}
        self._remembered: OrderedDict = OrderedDict()
        self.blas_threads: int | None = 1
        self.threads = 1

    def __getstate__(self):
        # compiled programs and caches are dropped (they hold locks, and are rebuilt on first use)
        state = self.__dict__.copy()
        for name in ("_programs", "_joints", "_flat", "_weights", "_universal", "_remembered"):
            state.pop(name)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._programs = OrderedDict()
        self._joints = OrderedDict()
        self._flat = {}
        self._weights = LruCache(WEIGHT_CACHE_BYTES)
        self._universal = {}
        self._remembered = OrderedDict()

    def remembered(self, key):
        """An answer kept with :meth:`remember` (None if not kept)."""
        return self._remembered.get(key)

    def remember(self, key, answer):
        """Keep a small answer that recurs (the prior by age), the least recently kept dropped past 64; returns it."""
        self._remembered[key] = answer
        while len(self._remembered) > 64:
            try:
                self._remembered.popitem(last=False)
            except KeyError:  # another thread emptied it first
                break
        return answer

    @property
    def conditions(self) -> tuple[str, ...]:
        """The queries the universal program answers (the model's conditions)."""
        return tuple(self._model.conditions)

    def universal(self) -> UniversalProgram | None:
        """The program serving every pattern for the conditions' posteriors (None if off or too large)."""
        limit = self.universal_limit
        if limit not in self._universal:
            self._universal[limit] = build_universal(self.network, self.tables, self.conditions, limit)
        return self._universal[limit]

    @property
    def tables(self) -> dict[str, np.ndarray]:
        return self._model.tables

    def cache_size(self) -> int:
        """Number of compiled programs held."""
        return len(self._programs) + sum(j is not None for j in self._joints.values())

    def clear_cache(self) -> None:
        """Forget every compiled program (the next run of each pattern compiles it again)."""
        self._programs.clear()
        self._joints.clear()
        self._flat.clear()
        self._weights.clear()
        self._universal.clear()
        self._remembered.clear()

    def chunk_size(
        self,
        hard: Sequence[str],
        soft: Sequence[str],
        queries: Sequence[str],
        gradients: bool = False,
        budget: int | None = None,
    ) -> int:
        """Rows per chunk for a pattern under a memory budget (compiling the pattern if needed).

        Parameters
        ----------
        hard, soft : sequence of str
            Variables observed in one state, and observed through likelihoods.
        queries : sequence of str
            Variables whose posterior is wanted.
        gradients : bool
            Whether table derivatives are wanted too.
        budget : int, optional
            Bytes the intermediates of one chunk may hold (default
            :attr:`memory_budget`).

        Returns
        -------
        int
            At least 1 and at most :attr:`chunk_rows`.
        """
        return self._chunk(self.bytes_per_row(hard, soft, queries, gradients), budget)

    def bytes_per_row(self, hard: Sequence[str], soft: Sequence[str], queries: Sequence[str], gradients: bool = False) -> int:
        """Bytes of intermediates one batch row of a pattern holds during a run (compiling the pattern if needed)."""
        hard, soft, queries = tuple(sorted(hard)), tuple(sorted(soft)), tuple(dict.fromkeys(queries))
        joint = None if gradients else self._joint(hard, soft, queries)
        if joint is not None:
            return joint.per_row_bytes
        return self._program(hard, soft, queries, False, gradients, True).per_row_bytes

    def cohort_chunk(self, budget: int | None = None) -> int | None:
        """Rows per call of :meth:`run_rows` under a memory budget, or None without a universal program."""
        universal = self.universal()
        if universal is None:
            return None
        budget = self.memory_budget if budget is None else budget
        return int(max(1, min(COHORT_CHUNK_ROWS, budget // universal.per_row_bytes)))

    def _chunk(self, per_row_bytes: int, budget: int | None = None) -> int:
        budget = self.memory_budget if budget is None else budget
        return int(max(1, min(self.chunk_rows, budget // per_row_bytes)))

    # -- compilation --------------------------------------------------------------
    def _program(self, hard, soft, queries, table_batch: bool, all_grads: bool, many: bool) -> _Compiled:
        key = (hard, soft, queries, table_batch, all_grads, many)
        hit = self._programs.get(key)
        if hit is not None:
            self._programs.move_to_end(key)
            return hit
        net = self.network
        hard_set = set(hard)
        relevant = net.ancestors(hard_set | set(soft) | set(queries))
        order = [v for v in net.variables if v in relevant]
        idx, needs_grad, leaves = [], [], []
        for v in order:
            axes = (v, *net.parents[v])
            observed = tuple(i for i, a in enumerate(axes) if a in hard_set)
            observed_vars = tuple(axes[i] for i in observed)
            cards = [net.cards[a] for a in observed_vars]
            strides = tuple(math.prod(cards[i + 1 :]) for i in range(len(cards)))
            kept = tuple(a for a in axes if a not in hard_set)
            batched = table_batch or bool(observed)
            idx.append((("#",) if batched else ()) + kept)
            needs_grad.append(all_grads or v in queries)
            unslice = _Move.between(observed_vars + kept, axes, net.cards) if observed else None
            leaves.append(_TableLeaf(v, observed, observed_vars, strides, tuple(net.cards[a] for a in kept), unslice))
        for v in soft:
            idx.append(("#", v))
            needs_grad.append(False)
            leaves.append(_SoftLeaf(v))
        sizes = {v: net.cards[v] for v in order}
        program = _Program(idx, needs_grad, sizes, _BATCH_HINT if many else 1)
        if not table_batch:
            program.fold([self.tables[leaf.var][None] if program.node_static[i] else None for i, leaf in enumerate(leaves)])
        table_pos = {leaf.var: i for i, leaf in enumerate(leaves) if isinstance(leaf, _TableLeaf)}
        query_shape = {}
        for q in queries:
            kept = program.node_idx[table_pos[q]]
            axis = kept.index(q)
            query_shape[q] = (math.prod(sizes[s] for s in kept[:axis]), sizes[q], math.prod(sizes[s] for s in kept[axis + 1 :]))
        compiled = _Compiled(program, leaves, table_pos, program.per_row_bytes(True), query_shape)
        self._programs[key] = compiled
        while len(self._programs) > MAX_PROGRAMS:
            self._programs.popitem(last=False)
        return compiled

    def _joint(self, hard, soft, queries) -> JointProgram | None:
        """The enumeration program of a pattern, if its joint is small enough (cached)."""
        if self.joint_limit <= 0:
            return None
        key = (hard, soft, queries, self.joint_limit)
        if key in self._joints:
            self._joints.move_to_end(key)
            return self._joints[key]
        program = build_joint(self.network, self.tables, hard, soft, queries, self.joint_limit, self._weights)
        self._joints[key] = program
        while len(self._joints) > MAX_PROGRAMS:
            self._joints.popitem(last=False)
        return program

    def _flat_table(self, leaf: _TableLeaf) -> np.ndarray:
        """The model's table as a matrix: one row per observed configuration, the kept axes flattened."""
        key = (leaf.var, leaf.observed)
        flat = self._flat.get(key)
        if flat is None:
            moved = np.moveaxis(self.tables[leaf.var], leaf.observed, range(len(leaf.observed)))
            flat = np.ascontiguousarray(moved.reshape(math.prod(moved.shape[: len(leaf.observed)]), -1))
            self._flat[key] = flat
        return flat

    # -- running ----------------------------------------------------------------
    def run(
        self,
        likelihoods: Mapping[str, np.ndarray],
        queries: Sequence[str],
        tables: Mapping[str, np.ndarray] | None = None,
        gradients: bool = False,
    ) -> EngineResult:
        """Posteriors of ``queries`` (and optionally table derivatives) for a batch.

        Parameters
        ----------
        likelihoods : mapping
            Observed variable -> likelihood array ``(B, k)`` (or ``(k,)`` shared by
            every row). Hard evidence is a one-hot row.
        queries : sequence of str
            Variables whose posterior is wanted (not observed ones).
        tables : mapping, optional
            Tables with a leading batch axis ``(B, ...)`` (one set per row, e.g.
            parameter draws); default the model's. Entries are probabilities.
        gradients : bool
            Also return ``d log P(e) / d theta`` for every table of the pruned
            network (variables outside it have zero derivative).

        Returns
        -------
        EngineResult

        Notes
        -----
        A variable whose likelihood has exactly one non-zero entry in every
        row is treated as hard evidence (the tables are sliced at that state
        and the entry's value is carried into ``log P(e)``); the answer is the
        same as multiplying by the likelihood, only faster.
        """
        queries = tuple(dict.fromkeys(queries))
        overlap = set(likelihoods) & set(queries)
        if overlap:
            raise ValueError(f"cannot query observed variable(s) {sorted(overlap)}")
        if gradients and isinstance(tables, SlicedTables):
            raise ValueError("derivatives need whole tables, not tables sliced at the evidence")
        states: dict[str, np.ndarray] = {}
        soft: dict[str, np.ndarray] = {}
        log_scale: np.ndarray | float = 0.0
        for var, lam in likelihoods.items():
            lam = np.asarray(lam, dtype=float)
            if lam.ndim == 1:
                nonzero = [(i, x) for i, x in enumerate(lam.tolist()) if x != 0.0]
                if len(nonzero) == 1 and nonzero[0][1] > 0:
                    states[var] = nonzero[0][0]
                    if nonzero[0][1] != 1.0:
                        log_scale = log_scale + math.log(nonzero[0][1])
                    continue
            elif lam.ndim == 2 and lam.shape[0]:
                nonzero = lam != 0
                if np.all(np.count_nonzero(nonzero, axis=1) == 1) and not np.any(lam < 0):
                    state = nonzero.argmax(axis=1)
                    value = lam[np.arange(len(lam)), state]
                    states[var] = state
                    if np.any(value != 1.0):
                        log_scale = log_scale + np.log(value)
                    continue
            soft[var] = lam
        result = self._execute(states, soft, queries, tables, gradients, dedupe=False)
        return _add_log_scale(result, log_scale)

    def run_states(
        self,
        states: Mapping[str, np.ndarray | int],
        queries: Sequence[str],
        likelihoods: Mapping[str, np.ndarray] | None = None,
        tables: Mapping[str, np.ndarray] | None = None,
        gradients: bool = False,
        dedupe: bool = False,
    ) -> EngineResult:
        """Like :meth:`run`, with hard evidence given as state indices.

        Parameters
        ----------
        states : mapping
            Hard-observed variable -> state index per row ``(B,)`` (or an int
            shared by every row).
        queries : sequence of str
            Variables whose posterior is wanted: not hard-observed ones. A
            variable with soft evidence may be queried (its posterior includes
            its likelihood).
        likelihoods : mapping, optional
            Soft evidence: variable -> likelihood array ``(B, k)`` or ``(k,)``.
        tables : mapping, optional
            Batched tables (see :meth:`run`).
        gradients : bool
            Also return ``d log P(e) / d theta`` (see :meth:`run`).
        dedupe : bool
            Compute each distinct evidence row once and copy its answer to the
            rows that repeat it (ignored with ``tables``). The answers are the
            same; it only saves work when rows repeat, as they do in cohorts
            with few observed variables.

        Returns
        -------
        EngineResult
        """
        queries = tuple(dict.fromkeys(queries))
        likelihoods = dict(likelihoods or {})
        overlap = set(states) & (set(queries) | set(likelihoods))
        if overlap:
            raise ValueError(f"cannot query or give likelihoods for hard-observed variable(s) {sorted(overlap)}")
        checked = {}
        for var, s in states.items():
            s = np.asarray(s, dtype=np.intp)
            if s.size and (s.min() < 0 or s.max() >= self.network.cards[var]):
                raise ValueError(f"state index out of range for {var!r} (it has {self.network.cards[var]} states)")
            checked[var] = s
        return self._execute(checked, likelihoods, queries, tables, gradients, dedupe)

    def run_rows(
        self,
        states: Mapping[str, np.ndarray],
        likelihoods: Mapping[str, np.ndarray] | None = None,
        queries: Sequence[str] | None = None,
    ) -> EngineResult:
        """Posteriors for rows that each observe their own variables (a cohort), in one run.

        Parameters
        ----------
        states : mapping
            Variable -> int array ``(B,)``: the observed state's index, -1 in
            the rows that do not observe the variable in one state.
        likelihoods : mapping, optional
            Variable -> float array ``(B, k)``: a likelihood in the rows that
            give one, NaN rows elsewhere. A row may not give a variable both
            a state and a likelihood.
        queries : sequence of str, optional
            Variables whose posterior is wanted (default: the conditions). In
            a row that observes a query in one state its posterior is that state.

        Returns
        -------
        EngineResult
            ``log_evidence`` is ``-inf`` (and the marginals zero) in rows whose
            evidence is impossible.

        Notes
        -----
        The conditions' posteriors come from the universal program, whatever
        each row observes; other queries, and the few rows whose P(e) is too
        small for it, are grouped by evidence pattern and contracted.
        """
        likelihoods = dict(likelihoods or {})
        queries = tuple(dict.fromkeys(self.conditions if queries is None else queries))
        batch = _batch_size({v: np.asarray(s) for v, s in states.items()}, likelihoods, None)
        cards = self.network.cards
        checked: dict[str, np.ndarray] = {}
        for var, s in states.items():
            s = np.asarray(s, dtype=np.intp).reshape(-1)
            if s.size and (s.min() < -1 or s.max() >= cards[var]):
                raise ValueError(f"state index out of range for {var!r} (it has {cards[var]} states; -1 = not observed)")
            checked[var] = s
        # likelihoods scaled to a largest entry of 1, the scale kept for log P(e)
        log_scale = np.zeros(batch)
        scaled: dict[str, np.ndarray] = {}
        for var, lam in likelihoods.items():
            lam = np.array(lam, dtype=float).reshape(batch, cards[var])
            given = ~np.isnan(lam[:, 0])
            if var in checked and np.any(given & (checked[var] >= 0)):
                raise ValueError(f"a row gives {var!r} both a state and a likelihood")
            top = np.where(given, lam.max(axis=1), 1.0)
            top = np.where(top > 0, top, 1.0)  # an all-zero likelihood stays zero: P(e) = 0
            log_scale += np.log(top)
            scaled[var] = lam / top[:, None]
        universal = self.universal()
        if universal is not None and all(universal.answers(q) for q in queries) and batch:
            marginals, log_z, done = universal.marginals(checked, scaled, batch, queries)
            result = EngineResult(marginals, log_z + log_scale)
            left = np.flatnonzero(~done)
        else:
            result = EngineResult({q: np.zeros((batch, cards[q])) for q in queries}, np.zeros(batch))
            left = np.arange(batch)
        if len(left):
            self._rows_by_pattern(left, checked, scaled, queries, result, log_scale)
        # a query observed in one state: its posterior is that state
        for q in queries:
            if q in checked:
                at = np.flatnonzero(checked[q] >= 0)
                block = np.zeros((len(at), cards[q]))
                block[np.arange(len(at)), checked[q][at]] = 1.0
                result.marginals[q][at] = block * np.isfinite(result.log_evidence[at])[:, None]
        return result

    def _rows_by_pattern(self, rows, states, soft, queries, result: EngineResult, log_scale) -> None:
        """Rows of :meth:`run_rows` run pattern by pattern (the contraction), written into ``result``."""
        masks = [states[v][rows] >= 0 for v in states] + [~np.isnan(soft[v][rows, 0]) for v in soft]
        names = [("hard", v) for v in states] + [("soft", v) for v in soft]
        if masks:
            _, first, inverse = np.unique(np.column_stack(masks), axis=0, return_index=True, return_inverse=True)
            inverse = inverse.reshape(-1)
        else:
            first, inverse = np.zeros(1, dtype=np.intp), np.zeros(len(rows), dtype=np.intp)
        for number in range(len(first)):
            members = rows[inverse == number]
            pattern = [name for name, mask in zip(names, masks) if mask[first[number]]]
            hard = {v: states[v][members] for kind, v in pattern if kind == "hard"}
            lams = {v: soft[v][members] for kind, v in pattern if kind == "soft"}
            wanted = [q for q in queries if q not in hard]
            part = self.run_states(hard, wanted, likelihoods=lams, dedupe=True)
            for q in wanted:
                result.marginals[q][members] = part.marginals[q]
            result.log_evidence[members] = part.log_evidence + log_scale[members]

    def _execute(self, states, soft, queries, tables, gradients, dedupe) -> EngineResult:
        if _batch_size(states, soft, tables) < _THREADED_ROWS:  # products too small for BLAS to use threads
            return self._execute_here(states, soft, queries, tables, gradients, dedupe)
        with _blas_threads(self.blas_threads):
            return self._execute_here(states, soft, queries, tables, gradients, dedupe)

    def _execute_here(self, states, soft, queries, tables, gradients, dedupe) -> EngineResult:
        batch = _batch_size(states, soft, tables)
        # soft likelihoods are scaled to a largest entry of 1 (every operand then holds values <= 1)
        log_scale: np.ndarray | float = 0.0
        scaled = {}
        for var, lam in soft.items():
            lam = np.asarray(lam, dtype=float)
            top = lam.max(axis=-1, keepdims=True)
            if np.any(top != 1.0):
                top = np.where(top > 0, top, 1.0)  # an all-zero row stays zero: P(e) = 0
                log_scale = log_scale + np.log(top[..., 0])
                lam = lam / top
            scaled[var] = lam
        if dedupe and tables is None and batch > 1:
            result = self._deduped(states, scaled, queries, gradients, batch)
        else:
            result = self._chunked(states, scaled, queries, tables, gradients, batch)
        return _add_log_scale(result, log_scale)

    def _deduped(self, states, soft, queries, gradients, batch) -> EngineResult:
        keys = [np.broadcast_to(states[v], (batch,))[:, None].astype(float) for v in sorted(states)]
        keys += [np.broadcast_to(soft[v], (batch, np.shape(soft[v])[-1])) for v in sorted(soft)]
        if not keys:
            return self._chunked(states, soft, queries, None, gradients, batch)
        _, first, inverse = np.unique(np.concatenate(keys, axis=1), axis=0, return_index=True, return_inverse=True)
        inverse = inverse.reshape(-1)
        u_states = {v: np.broadcast_to(s, (batch,))[first] for v, s in states.items()}
        u_soft = {v: np.broadcast_to(lam, (batch, np.shape(lam)[-1]))[first] for v, lam in soft.items()}
        part = self._chunked(u_states, u_soft, queries, None, gradients, len(first))
        return EngineResult(
            {q: m[inverse] for q, m in part.marginals.items()},
            part.log_evidence[inverse],
            {v: g[inverse] for v, g in part.gradients.items()},
        )

    def _chunked(self, states, soft, queries, tables, gradients, batch) -> EngineResult:
        universal = None if tables is not None or gradients or not queries else self.universal()
        if universal is not None and all(universal.answers(q) for q in queries):
            return self._universal_run(universal, states, soft, queries, batch)
        return self._chunked_pattern(states, soft, queries, tables, gradients, batch)

    def _universal_run(self, universal: UniversalProgram, states, soft, queries, batch) -> EngineResult:
        """The universal program on rows of one pattern; rows it leaves (tiny P(e)) go through the contraction."""
        marginals, log_z, done = universal.marginals(states, soft, batch, queries)
        result = EngineResult(marginals, log_z)
        if not done.all():
            left = np.flatnonzero(~done)
            part = self._chunked_pattern(*_select(left, states, soft, None)[:2], queries, None, False, len(left))
            for q in queries:
                result.marginals[q][left] = part.marginals[q]
            result.log_evidence[left] = part.log_evidence
        return result

    def _chunked_pattern(self, states, soft, queries, tables, gradients, batch) -> EngineResult:
        hard_names, soft_names = tuple(sorted(states)), tuple(sorted(soft))
        joint = None if tables is not None or gradients else self._joint(hard_names, soft_names, queries)
        if joint is not None:
            workers = max(1, min(self.threads, batch // _ROWS_PER_THREAD))
            chunk = self._chunk(joint.per_row_bytes * workers)  # the workers' chunks together fit the budget
            chunk = min(chunk, -(-batch // workers))
            blocks = [slice(start, min(batch, start + chunk)) for start in range(0, batch, chunk)]

            def block_result(rows: slice) -> EngineResult:
                part_states, part_soft, _ = _select(rows, states, soft, None)
                return EngineResult(*joint.run(part_states, part_soft, rows.stop - rows.start))

            if workers > 1 and len(blocks) > 1:  # numpy's products and exp release the GIL
                with ThreadPoolExecutor(workers) as pool:
                    parts = list(pool.map(block_result, blocks))
            else:
                parts = [block_result(rows) for rows in blocks]
            return parts[0] if len(parts) == 1 else _concatenate(parts, queries)
        compiled = self._program(hard_names, soft_names, queries, tables is not None, gradients, batch > 1)
        chunk = self._chunk(compiled.per_row_bytes)
        if batch <= chunk:
            return self._run_chunk(compiled, states, soft, tables, queries, gradients, batch)
        parts = []
        for start in range(0, batch, chunk):
            rows = slice(start, min(batch, start + chunk))
            parts.append(self._run_chunk(compiled, *_select(rows, states, soft, tables), queries, gradients, rows.stop - start))
        return _concatenate(parts, queries)

    def _leaf_values(self, compiled: _Compiled, states, soft, tables, batch) -> tuple[list, list]:
        """Operand arrays of the program (batch axis first), and the flat observed index of each sliced table."""
        values: list = []
        flat_index: list = []
        for leaf in compiled.leaves:
            if isinstance(leaf, _SoftLeaf):
                lam = soft[leaf.var]
                values.append(np.broadcast_to(lam, (batch, lam.shape[-1])) if lam.ndim == 1 else lam)
                flat_index.append(None)
                continue
            if not leaf.observed:
                values.append(self.tables[leaf.var][None] if tables is None else np.asarray(tables[leaf.var]))
                flat_index.append(None)
                continue
            index = 0
            if not isinstance(tables, SlicedTables):  # sliced tables hold only the observed state
                for var, stride in zip(leaf.observed_vars, leaf.strides):
                    index = index + states[var] * stride
            index = np.asarray(index, dtype=np.intp)
            flat_index.append(index)
            if tables is None:
                sliced = self._flat_table(leaf).take(index.reshape(-1), axis=0)
            else:
                table = np.asarray(tables[leaf.var], dtype=float)
                moved = np.moveaxis(table, [a + 1 for a in leaf.observed], range(1, len(leaf.observed) + 1))
                flat = moved.reshape(moved.shape[0], -1, math.prod(leaf.kept))
                sliced = flat[:, index] if index.ndim == 0 else flat[np.arange(batch), index]
            sliced = sliced.reshape((-1,) + leaf.kept)
            if sliced.shape[0] != batch:
                sliced = np.broadcast_to(sliced, (batch,) + leaf.kept)
            values.append(sliced)
        return values, flat_index

    def _run_chunk(self, compiled, states, soft, tables, queries, gradients, batch, rescale=False) -> EngineResult:
        program = compiled.program
        leaves, flat_index = self._leaf_values(compiled, states, soft, tables, batch)
        if program.root < 0:  # nothing to contract: no evidence, no queries
            return EngineResult({}, np.zeros(batch), {})
        values, saved, factors = program.forward(leaves, rescale=rescale)
        z = np.broadcast_to(values[program.root].reshape(-1), (batch,))
        with np.errstate(divide="ignore"):
            log_z = np.log(z) + _log_scale(factors)
        if not rescale and np.any(log_z < program.log_z_floor):
            return self._rescued(compiled, states, soft, tables, queries, gradients, batch, log_z)
        positions = compiled.table_pos
        want = set(positions.values()) if gradients else {positions[q] for q in queries}
        grads = program.backward(values, saved, factors, want) if want else {}
        safe_z = np.where(z > 0, z, 1.0)
        marginals = {}
        for q in queries:
            pos = positions[q]
            prod = grads[pos] * leaves[pos]
            joint = prod.reshape((prod.shape[0],) + compiled.query_shape[q]).sum(axis=(1, 3))
            marginals[q] = joint / safe_z[:, None] if joint.shape[0] == batch else np.repeat(joint / safe_z[:, None], batch, 0)
        out_grads = {}
        if gradients:
            for v, pos in positions.items():
                leaf = compiled.leaves[pos]
                table_shape = self.tables[v].shape
                g = grads[pos] if pos in grads else np.zeros((1,) + leaf.kept)
                if leaf.observed:
                    g = _scatter(g, flat_index[pos], leaf, table_shape, batch)
                flat = np.broadcast_to(g.reshape(g.shape[0], -1), (batch, math.prod(table_shape)))
                out_grads[v] = (flat / safe_z[:, None]).reshape((batch,) + table_shape)
        return EngineResult(marginals, np.asarray(log_z, dtype=float).reshape(batch), out_grads)

    def _rescued(self, compiled, states, soft, tables, queries, gradients, batch, log_z) -> EngineResult:
        """Run again, rescaling intermediates, the rows whose P(e) is so small that one might have underflowed."""
        low = np.flatnonzero(log_z < compiled.program.log_z_floor)
        if len(low) == batch:
            return self._run_chunk(compiled, states, soft, tables, queries, gradients, batch, rescale=True)
        high = np.flatnonzero(log_z >= compiled.program.log_z_floor)
        parts = [
            self._run_chunk(compiled, *_select(rows, states, soft, tables), queries, gradients, len(rows), rescale=rows is low)
            for rows in (high, low)
        ]
        return _concatenate(parts, queries, order=np.argsort(np.concatenate([high, low])))



def _scatter(g: np.ndarray, index: np.ndarray, leaf: _TableLeaf, table_shape: tuple[int, ...], batch: int) -> np.ndarray:
    """Derivatives of a sliced table put back at the observed entries of the full table (zeros elsewhere)."""
    observed_configs = math.prod(table_shape[a] for a in leaf.observed)
    full = np.zeros((batch, observed_configs, math.prod(leaf.kept)))
    full[np.arange(batch), np.broadcast_to(index, (batch,))] = g.reshape(g.shape[0], -1)
    return leaf.unslice.to_target(full, table_shape)  # from (observed axes, kept axes) to the table's order


def _add_log_scale(result: EngineResult, log_scale: np.ndarray | float) -> EngineResult:
    """The result with scale factors taken out of the likelihoods put back into ``log P(e)``."""
    if isinstance(log_scale, float) and log_scale == 0.0:
        return result
    if np.any(log_scale != 0.0):
        result.log_evidence = result.log_evidence + log_scale
    return result


def _batch_size(states, soft, tables) -> int:
    sizes = set()
    for v in states.values():
        shape = getattr(v, "shape", ())
        if len(shape) == 1:
            sizes.add(shape[0])
    for v in soft.values():
        shape = np.shape(v)
        if len(shape) == 2:
            sizes.add(shape[0])
    if tables is not None:
        sizes.add(np.shape(next(iter(tables.values())))[0])
    if len(sizes) > 1:
        raise ValueError(f"inconsistent batch sizes {sorted(sizes)}")
    return sizes.pop() if sizes else 1


def _rows(arr, rows, batched_ndim):
    """Some rows of a batched array (an unbatched one is returned as is)."""
    arr = np.asarray(arr)
    return arr[rows] if arr.ndim >= batched_ndim else arr


def _select(rows, states, soft, tables):
    """Some rows of every input of a run: states, soft likelihoods and tables."""
    return (
        {k: _rows(v, rows, 1) for k, v in states.items()},
        {k: _rows(v, rows, 2) for k, v in soft.items()},
        None if tables is None else type(tables)({k: _rows(v, rows, 2) for k, v in tables.items()}),
    )


def _concatenate(parts: Sequence[EngineResult], queries, order: np.ndarray | None = None) -> EngineResult:
    """One result from the results of consecutive row blocks (optionally reordered)."""
    pick = slice(None) if order is None else order
    return EngineResult(
        marginals={q: np.concatenate([p.marginals[q] for p in parts])[pick] for q in queries},
        log_evidence=np.concatenate([p.log_evidence for p in parts])[pick],
        gradients={k: np.concatenate([p.gradients[k] for p in parts])[pick] for k in parts[0].gradients},
    )
