"""The numba kernel of the universal program (:mod:`omsbayes.engine.universal`), imported on first use.

Compiled once and cached on disk by numba (``cache=True``; where no cache
directory is writable, compiled once per process). The fast-math
flags only let the compiler reorder sums (and fuse multiply-adds), which
changes the last bits of a sum, never which terms are summed.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["run_block", "run_parallel"]


def _jit(**options):
    """``numba.njit`` with its on-disk cache, or without it where numba finds no writable cache directory."""

    def decorate(function):
        try:
            return numba.njit(cache=True, **options)(function)
        except RuntimeError:  # pragma: no cover - "cannot cache function ...: no locator available"
            return numba.njit(**options)(function)

    return decorate


@_jit(nogil=True, fastmath={"reassoc", "nsz", "contract"})
def run_block(start, stop, perm, prior, row_prior, outer_w, tab, leaf_base, leaf_npa, leaf_card, lo_idx, hi_idx,
               hard, soft_ptr, soft_leaf, soft_lam, nq, b, z, m):  # pragma: no cover - compiled by numba
    """Rows ``perm[start:stop]``: ``z[r] = P(e)`` and ``m[r, j] = P(Q_j present, e)``."""
    n_outer = outer_w.shape[1]
    size = 1 << b
    n_hi = 1 << (nq - b)
    n_leaves = leaf_base.shape[0]
    max_card = 1
    for k in range(n_leaves):
        max_card = max(max_card, leaf_card[k])
    tv = np.empty((n_leaves, max_card, size))
    t = np.empty(size)
    used = np.zeros((n_leaves, max_card), dtype=np.bool_)  # the (table, state) pairs the block's rows observe
    rows_k = np.empty(n_leaves, dtype=np.int64)
    rows_s = np.empty(n_leaves, dtype=np.int64)
    # sums of this block's rows, written out at the end (rows of other threads share cache lines of z and m)
    z_block = np.zeros(stop - start)
    m_block = np.zeros((stop - start, nq))
    for i in range(start, stop):
        r = perm[i]
        for k in range(n_leaves):
            if hard[r, k] >= 0:
                used[k, hard[r, k]] = True
        for e in range(soft_ptr[r], soft_ptr[r + 1]):
            for s in range(leaf_card[soft_leaf[e]]):
                used[soft_leaf[e], s] = True
    for o in range(n_outer):
        needed = False
        for i in range(start, stop):
            if outer_w[perm[i], o] != 0.0:
                needed = True
                break
        if not needed:
            continue
        for hi in range(n_hi):
            for k in range(n_leaves):  # the tile of every table entry a row of the block observes
                h = hi_idx[k, o, hi]
                for s in range(leaf_card[k]):
                    if not used[k, s]:
                        continue
                    base = leaf_base[k] + s * leaf_npa[k] + h
                    for j in range(size):
                        tv[k, s, j] = tab[base + lo_idx[k, j]]
            off = hi * size
            for i in range(start, stop):
                r = perm[i]
                w = outer_w[r, o]
                if w == 0.0:
                    continue
                n_hard = 0
                for k in range(n_leaves):
                    if hard[r, k] >= 0:
                        rows_k[n_hard] = k
                        rows_s[n_hard] = hard[r, k]
                        n_hard += 1
                p = row_prior[r]
                # the prior tile times the observed tables, four at a time (t is read and written once per four)
                e = 0
                if n_hard >= 2:
                    a0, a1 = tv[rows_k[0], rows_s[0]], tv[rows_k[1], rows_s[1]]
                    for j in range(size):
                        t[j] = prior[p, o, off + j] * w * a0[j] * a1[j]
                    e = 2
                else:
                    for j in range(size):
                        t[j] = prior[p, o, off + j] * w
                while e + 4 <= n_hard:
                    a0, a1 = tv[rows_k[e], rows_s[e]], tv[rows_k[e + 1], rows_s[e + 1]]
                    a2, a3 = tv[rows_k[e + 2], rows_s[e + 2]], tv[rows_k[e + 3], rows_s[e + 3]]
                    for j in range(size):
                        t[j] *= (a0[j] * a1[j]) * (a2[j] * a3[j])
                    e += 4
                while e < n_hard:
                    a0 = tv[rows_k[e], rows_s[e]]
                    for j in range(size):
                        t[j] *= a0[j]
                    e += 1
                for e in range(soft_ptr[r], soft_ptr[r + 1]):
                    k = soft_leaf[e]
                    for j in range(size):
                        acc = 0.0
                        for s2 in range(leaf_card[k]):
                            acc += soft_lam[e, s2] * tv[k, s2, j]
                        t[j] *= acc
                # fold the tile: the top bit's half is P(that condition present, e) within the tile
                half = size
                for bit in range(b - 1, -1, -1):
                    half >>= 1
                    acc = 0.0
                    for j in range(half):
                        acc += t[half + j]
                        t[j] += t[half + j]
                    m_block[i - start, bit] += acc
                total = t[0]
                z_block[i - start] += total
                for bit in range(b, nq):
                    if (hi >> (bit - b)) & 1:
                        m_block[i - start, bit] += total
    for i in range(start, stop):
        r = perm[i]
        z[r] = z_block[i - start]
        for j in range(nq):
            m[r, j] = m_block[i - start, j]


@_jit(parallel=True)
def run_parallel(perm, prior, row_prior, outer_w, tab, leaf_base, leaf_npa, leaf_card, lo_idx, hi_idx,
                  hard, soft_ptr, soft_leaf, soft_lam, nq, b, block, z, m):  # pragma: no cover - compiled by numba
    n_rows = perm.shape[0]
    n_blocks = (n_rows + block - 1) // block
    for i in numba.prange(n_blocks):
        run_block(i * block, min(n_rows, (i + 1) * block), perm, prior, row_prior, outer_w, tab, leaf_base, leaf_npa,
                   leaf_card, lo_idx, hi_idx, hard, soft_ptr, soft_leaf, soft_lam, nq, b, z, m)
