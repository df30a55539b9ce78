"""Exact inference compiled to tensor contractions (numpy + opt_einsum).

For a given evidence *pattern* (which variables are observed) the network is
pruned to the ancestors of the observed and queried variables (the others are
barren and sum to one), written as one einsum over the conditional tables and
the evidence likelihood vectors, and given a contraction order by
opt_einsum. The compiled program is cached by pattern.

One forward pass computes ``Z = P(e)`` for every row of a batch (cases, or
parameter draws); one backward pass (reverse-mode differentiation of the
contraction tree, the differential approach of Darwiche 2003) gives
``dZ/dtheta`` for every table entry. Marginals follow from
``P(x, e) = sum_u theta_{x|u} dZ/dtheta_{x|u}`` and, divided by ``Z``, are the
posteriors; the same derivatives feed one-way sensitivity analysis.

Parts of the tree that depend on neither the batch nor a needed derivative
are contracted once at compile time. Intermediates are rescaled per batch row
when a row's values fall towards the bottom of double precision, so rare
evidence does not underflow; the scale is carried in ``log P(e)``.

References
----------
Darwiche A. A differential approach to inference in Bayesian networks.
J ACM 2003;50(3):280-305.
"""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import opt_einsum

__all__ = ["CompiledEngine", "EngineResult", "Network"]

_LETTERS = string.ascii_letters
_TINY = 1e-150  # below this a row is rescaled
#: Largest intermediate (bytes) a chunk of a batch may create.
MEMORY_BUDGET_BYTES = 256 * 2**20


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
        Variable -> array ``(B, k)``: the posterior of each queried variable.
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
# the compiled program
# ---------------------------------------------------------------------------
@dataclass
class _Step:
    left: int
    right: int
    out: int
    expr: str  # forward einsum
    grad_left: str  # einsum giving d(root)/d(left) from d(root)/d(out) and right's value
    grad_right: str
    left_alone: tuple[int, ...]  # axes of the left gradient to broadcast back (summed here only)
    right_alone: tuple[int, ...]


class _Program:
    """A contraction tree over a fixed list of operands (leaves).

    The batch index ``#``, when present, is always the first axis of a node's
    value and of every derivative (derivatives are per batch row).
    """

    def __init__(self, leaves, needs_grad, sizes, batch_size):
        self.n_leaves = len(leaves)
        self.node_idx: list[tuple[str, ...]] = [tuple(idx) for idx in leaves]
        self.has_batch = any("#" in idx for idx in leaves)
        out_idx = ("#",) if self.has_batch else ()
        symbols = sorted({s for idx in leaves for s in idx})
        sym_of = {s: opt_einsum.get_symbol(i) for i, s in enumerate(symbols)}
        shapes = [tuple(batch_size if s == "#" else sizes[s] for s in idx) for idx in leaves]
        eq = ",".join("".join(sym_of[s] for s in idx) for idx in leaves) + "->" + "".join(sym_of[s] for s in out_idx)
        path = []
        if len(leaves) > 1:
            path, _ = opt_einsum.contract_path(eq, *shapes, shapes=True, optimize="greedy")
        self.node_batched = ["#" in idx for idx in leaves]
        self.node_static = [("#" not in idx) and not g for idx, g in zip(leaves, needs_grad)]
        self.node_grad = list(needs_grad)  # subtree holds a leaf whose derivative is wanted
        self.steps: list[_Step] = []
        current = list(range(len(leaves)))
        for contraction in path:
            if len(contraction) == 1:  # sum out indices only this operand has
                left = current.pop(contraction[0])
                right = -1
            else:
                a, b = sorted(contraction, reverse=True)
                first, second = current.pop(a), current.pop(b)
                left, right = second, first
            remaining = set(out_idx)
            for n in current:
                remaining |= set(self.node_idx[n])
            li = self.node_idx[left]
            ri = self.node_idx[right] if right >= 0 else ()
            out = tuple(s for s in dict.fromkeys(li + ri) if s in remaining)
            if "#" in out:
                out = ("#",) + tuple(s for s in out if s != "#")
            node = len(self.node_idx)
            self.node_idx.append(out)
            self.node_batched.append("#" in out)
            static_right = self.node_static[right] if right >= 0 else True
            grad_right = self.node_grad[right] if right >= 0 else False
            self.node_static.append(self.node_static[left] and static_right)
            self.node_grad.append(self.node_grad[left] or grad_right)
            self.steps.append(self._make_step(left, right, node, li, ri, out))
            current.append(node)
        self.root = current[0]
        self.sizes = dict(sizes)
        self.per_row_elements = max(
            int(np.prod([self.sizes[s] for s in idx if s != "#"], dtype=float)) for idx in self.node_idx
        )
        self.folded: dict[int, np.ndarray] = {}

    def _make_step(self, left, right, node, li, ri, out) -> _Step:
        local: dict[str, str] = {}
        for s in dict.fromkeys(("#",) + li + ri):
            local[s] = _LETTERS[len(local)]

        def word(idx):
            return "".join(local[s] for s in idx)

        def grad_idx(idx):
            # derivatives carry the batch axis first whenever the program is batched
            return (("#",) + tuple(idx)) if self.has_batch and "#" not in idx else tuple(idx)

        left_alone = tuple(s for s in li if s not in ri and s not in out)
        right_alone = tuple(s for s in ri if s not in li and s not in out)
        g_out = grad_idx(out)
        g_left = grad_idx(tuple(s for s in li if s not in left_alone))
        g_right = grad_idx(tuple(s for s in ri if s not in right_alone))
        full_left, full_right = grad_idx(li), grad_idx(ri)
        if right < 0:
            return _Step(
                left=left,
                right=right,
                out=node,
                expr=f"{word(li)}->{word(out)}",
                grad_left=f"{word(g_out)}->{word(g_left)}",
                grad_right="",
                left_alone=tuple(full_left.index(s) for s in left_alone),
                right_alone=(),
            )
        return _Step(
            left=left,
            right=right,
            out=node,
            expr=f"{word(li)},{word(ri)}->{word(out)}",
            grad_left=f"{word(g_out)},{word(ri)}->{word(g_left)}",
            grad_right=f"{word(g_out)},{word(li)}->{word(g_right)}",
            left_alone=tuple(full_left.index(s) for s in left_alone),
            right_alone=tuple(full_right.index(s) for s in right_alone),
        )

    # -- evaluation ---------------------------------------------------------
    def fold(self, leaves: Sequence[np.ndarray | None]) -> None:
        """Contract the static part of the tree once (tables that neither vary by row nor need derivatives)."""
        values = {i: leaves[i] for i in range(self.n_leaves) if self.node_static[i]}
        for step in self.steps:
            if self.node_static[step.out]:
                values[step.out] = self._apply(step, values)
        self.folded = {n: v for n, v in values.items() if n >= self.n_leaves}

    def forward(self, leaves: Sequence[np.ndarray]):
        """Values of every node, and the per-row rescaling factors applied to nodes."""
        values: dict[int, np.ndarray] = dict(enumerate(leaves))
        values.update(self.folded)
        factors: dict[int, np.ndarray] = {}
        for step in self.steps:
            if step.out in values:
                continue
            out = self._apply(step, values)
            if self.node_batched[step.out] and out.ndim > 1:
                row_max = out.reshape(out.shape[0], -1).max(axis=1)
                small = (row_max < _TINY) & (row_max > 0)
                if small.any():
                    factor = np.where(small, row_max, 1.0)
                    out = out / factor.reshape((-1,) + (1,) * (out.ndim - 1))
                    factors[step.out] = factor
            values[step.out] = out
        return values, factors

    def backward(self, values, factors, want: set[int]) -> dict[int, np.ndarray]:
        """Derivatives of the (rescaled) root with respect to the wanted leaves."""
        root = values[self.root]
        seed = np.ones_like(root) if self.has_batch else np.ones(())
        grads: dict[int, np.ndarray] = {self.root: seed}
        for step in reversed(self.steps):
            g = grads.pop(step.out, None)
            if g is None:
                continue
            if step.out in factors:  # the node was divided by a per-row factor
                g = g / factors[step.out].reshape((-1,) + (1,) * (g.ndim - 1))
            if step.right < 0:
                if self._wanted(step.left, want):
                    grads[step.left] = self._grad(g, None, step.grad_left, step.left_alone)
                continue
            if self._wanted(step.left, want):
                grads[step.left] = self._grad(g, values[step.right], step.grad_left, step.left_alone)
            if self._wanted(step.right, want):
                grads[step.right] = self._grad(g, values[step.left], step.grad_right, step.right_alone)
        return {k: v for k, v in grads.items() if k in want}

    def _wanted(self, node: int, want: set[int]) -> bool:
        return node in want if node < self.n_leaves else self.node_grad[node]

    @staticmethod
    def _apply(step, values):
        if step.right < 0:
            return np.einsum(step.expr, values[step.left])
        return np.einsum(step.expr, values[step.left], values[step.right])

    def _grad(self, g, other, expr, alone):
        out = np.einsum(expr, g) if other is None else np.einsum(expr, g, other)
        for axis in alone:
            out = np.expand_dims(out, axis)
        return out

    def log_scale(self, factors) -> np.ndarray | float:
        """Sum of log factors applied on the way to the root (per row)."""
        total = 0.0
        for f in factors.values():
            total = total + np.log(f)
        return total


# ---------------------------------------------------------------------------
# the engine
# ---------------------------------------------------------------------------
class CompiledEngine:
    """Exact, batched inference on one model, compiled per evidence pattern.

    Parameters
    ----------
    model : DiagnosticModel
        Its tables are used unless a run passes others (parameter draws).
    """

    def __init__(self, model):
        self.network = Network.of(model)
        self._model = model
        self._programs: dict[tuple, tuple[_Program, list]] = {}

    @property
    def tables(self) -> dict[str, np.ndarray]:
        return self._model.tables

    def cache_size(self) -> int:
        """Number of compiled programs held."""
        return len(self._programs)

    # -- compilation --------------------------------------------------------------
    def _program(self, observed: tuple[str, ...], queries: tuple[str, ...], table_batch: bool, all_grads: bool, big: bool):
        key = (observed, queries, table_batch, all_grads, big)
        hit = self._programs.get(key)
        if hit is not None:
            return hit
        net = self.network
        relevant = net.ancestors(set(observed) | set(queries))
        order = [v for v in net.variables if v in relevant]
        leaves, needs_grad, kinds = [], [], []
        for v in order:
            leaves.append((("#",) if table_batch else ()) + (v, *net.parents[v]))
            needs_grad.append(all_grads or v in queries)
            kinds.append(("table", v))
        for v in observed:
            leaves.append(("#", v))
            needs_grad.append(False)
            kinds.append(("evidence", v))
        sizes = {v: net.cards[v] for v in order}
        program = _Program(leaves, needs_grad, sizes, 512 if big else 1)
        if not table_batch:
            program.fold([self.tables[v] if kind == "table" else None for kind, v in kinds])
        self._programs[key] = (program, kinds)
        return program, kinds

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
            parameter draws); default the model's.
        gradients : bool
            Also return ``d log P(e) / d theta`` for every table of the pruned
            network (variables outside it have zero derivative).

        Returns
        -------
        EngineResult
        """
        observed = tuple(sorted(likelihoods))
        queries = tuple(dict.fromkeys(queries))
        overlap = set(observed) & set(queries)
        if overlap:
            raise ValueError(f"cannot query observed variable(s) {sorted(overlap)}")
        batch = _batch_size(likelihoods, tables)
        program, kinds = self._program(observed, queries, tables is not None, gradients, batch > 8)
        per_row = program.per_row_elements * 8 * (3 if gradients else 2)
        chunk = max(1, int(MEMORY_BUDGET_BYTES // per_row))
        if batch <= chunk:
            return self._run_chunk(program, kinds, likelihoods, queries, tables, gradients, batch)
        parts = []
        for start in range(0, batch, chunk):
            stop = min(batch, start + chunk)
            parts.append(
                self._run_chunk(
                    program,
                    kinds,
                    {k: _rows(v, start, stop) for k, v in likelihoods.items()},
                    queries,
                    None if tables is None else {k: _rows(v, start, stop) for k, v in tables.items()},
                    gradients,
                    stop - start,
                )
            )
        return EngineResult(
            marginals={q: np.concatenate([p.marginals[q] for p in parts]) for q in queries},
            log_evidence=np.concatenate([p.log_evidence for p in parts]),
            gradients={k: np.concatenate([p.gradients[k] for p in parts]) for k in parts[0].gradients},
        )

    def _run_chunk(self, program, kinds, likelihoods, queries, tables, gradients, batch) -> EngineResult:
        leaves = []
        for kind, v in kinds:
            if kind == "table":
                leaves.append(self.tables[v] if tables is None else np.asarray(tables[v], dtype=float))
            else:
                lam = np.asarray(likelihoods[v], dtype=float)
                leaves.append(np.broadcast_to(lam, (batch, lam.shape[-1])) if lam.ndim == 1 else lam)
        values, factors = program.forward(leaves)
        root = np.asarray(values[program.root], dtype=float)
        z = np.broadcast_to(root, (batch,)) if root.ndim == 0 else root.reshape(batch)
        with np.errstate(divide="ignore"):
            log_z = np.log(z) + program.log_scale(factors)
        positions = {v: i for i, (kind, v) in enumerate(kinds) if kind == "table"}
        want = set(positions.values()) if gradients else {positions[q] for q in queries}
        grads = program.backward(values, factors, want)
        safe_z = np.where(z > 0, z, 1.0)
        marginals = {}
        for q in queries:
            pos = positions[q]
            prod = grads[pos] * leaves[pos]
            if not program.has_batch:
                prod = prod[None]
            k = program.sizes[q]
            marginals[q] = prod.reshape(batch, k, -1).sum(axis=2) / safe_z[:, None]
        out_grads = {}
        if gradients:
            for v, pos in positions.items():
                g = grads[pos]
                if not program.has_batch:
                    g = g[None]
                shape = (batch,) + self._model.tables[v].shape
                out_grads[v] = np.broadcast_to(g, shape) / safe_z.reshape((-1,) + (1,) * len(shape[1:]))
        return EngineResult(marginals, np.asarray(log_z, dtype=float).reshape(batch), out_grads)


def _batch_size(likelihoods, tables) -> int:
    sizes = {np.asarray(v).shape[0] for v in likelihoods.values() if np.asarray(v).ndim == 2}
    if tables is not None:
        sizes |= {np.asarray(next(iter(tables.values()))).shape[0]}
    if len(sizes) > 1:
        raise ValueError(f"inconsistent batch sizes {sorted(sizes)}")
    return sizes.pop() if sizes else 1


def _rows(arr, start, stop):
    arr = np.asarray(arr)
    return arr[start:stop] if arr.ndim >= 2 else arr
