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
def run_block(start, stop, perm, prior, tail, condition_tail, row_prior, outer_w, tab, leaf_base, leaf_npa, leaf_card, outer_off,
               query_offset, bit_weight, level_ptr, tile, hard, soft_ptr, soft_leaf, soft_lam, tolerance, relative_tolerance,
               z, m, z_outer, z_none):  # pragma: no cover - compiled by numba
    """Rows ``perm[start:stop]``: P(e), P(Q_j present, e), P(outer config, e) and P(outer config, no Q present, e).

    The configurations of the conditions are visited by level (the number of
    conditions present), in tiles of at most ``tile``. After each level an
    outer configuration of a row stops once the prior mass of its levels not
    yet visited, which bounds what they can add (every factor is at most 1),
    is at most ``tolerance`` times the row's P(e) so far, and the prior mass
    of those levels' configurations with each condition present at most
    ``relative_tolerance`` times that condition's P(Q_j, e) so far (each
    divided by the number of the row's possible outer configurations); with
    ``tolerance`` 0 only an exactly zero remainder stops it (full enumeration).
    """
    n_outer = outer_w.shape[1]
    nq = bit_weight.shape[0] - 1
    n_leaves = leaf_base.shape[0]
    n_rows = stop - start
    direct = n_rows == 1
    max_card = 1
    for k in range(n_leaves):
        max_card = max(max_card, leaf_card[k])
    tv = np.empty((n_leaves, max_card, 1 if direct else tile))  # the gathered tiles (none for one row)
    tiles = np.empty((n_rows, tile))  # each row's products of the current tile
    slot_row = np.empty(n_rows, dtype=np.int64)
    sums = np.empty(4)
    used = np.zeros((n_leaves, max_card), dtype=np.bool_)  # the (table, state) pairs the block's rows observe
    used_leaf = np.zeros(n_leaves, dtype=np.bool_)
    rows_k = np.empty((n_rows, n_leaves), dtype=np.int64)  # each row's observed tables and states
    rows_s = np.empty((n_rows, n_leaves), dtype=np.int64)
    n_hard = np.zeros(n_rows, dtype=np.int64)
    for i in range(n_rows):
        r = perm[start + i]
        for k in range(n_leaves):
            if hard[r, k] >= 0:
                used[k, hard[r, k]] = True
                used_leaf[k] = True
                rows_k[i, n_hard[i]] = k
                rows_s[i, n_hard[i]] = hard[r, k]
                n_hard[i] += 1
        for e in range(soft_ptr[r], soft_ptr[r + 1]):
            used_leaf[soft_leaf[e]] = True
            for s in range(leaf_card[soft_leaf[e]]):
                used[soft_leaf[e], s] = True
    needed = np.zeros(n_outer, dtype=np.bool_)
    live = np.zeros((n_rows, n_outer), dtype=np.bool_)  # the outer configurations each row still enumerates
    n_live = np.zeros(n_rows, dtype=np.int64)
    for i in range(n_rows):
        for o in range(n_outer):
            if outer_w[perm[start + i], o] != 0.0:
                needed[o] = True
                live[i, o] = True
                n_live[i] += 1
    active = n_live > 0  # a row none of whose outer configurations is possible has P(e) = 0
    n_active = 0
    for i in range(n_rows):
        if active[i]:
            n_active += 1
    # sums of this block's rows, written out at the end (rows of other threads share cache lines of the outputs)
    z_block = np.zeros(n_rows)
    m_block = np.zeros((n_rows, nq))
    zo_block = np.zeros((n_rows, n_outer))
    for level in range(nq + 1):
        if n_active == 0:
            break
        for c0 in range(level_ptr[level], level_ptr[level + 1], tile):
            c1 = min(c0 + tile, level_ptr[level + 1])
            n = c1 - c0
            for o in range(n_outer):
                if not needed[o]:
                    continue
                for k in range(n_leaves):  # the tile of every table entry a row of the block observes
                    if direct or not used_leaf[k]:
                        continue
                    at = query_offset[k]
                    for s in range(leaf_card[k]):
                        if used[k, s]:
                            base = leaf_base[k] + s * leaf_npa[k] + outer_off[k, o]
                            for j in range(n):
                                tv[k, s, j] = tab[base + at[c0 + j]]
                n_slots = 0
                for i in range(n_rows):
                    if not live[i, o]:
                        continue
                    r = perm[start + i]
                    w = outer_w[r, o]
                    p = row_prior[r]
                    h = n_hard[i]
                    t = tiles[n_slots]
                    if direct:  # one row: its table entries are read where they are, not gathered first
                        for j in range(n):
                            t[j] = prior[p, o, c0 + j] * w
                        for e in range(h):
                            k = rows_k[i, e]
                            base = leaf_base[k] + rows_s[i, e] * leaf_npa[k] + outer_off[k, o]
                            at = query_offset[k]
                            for j in range(n):
                                t[j] *= tab[base + at[c0 + j]]
                        for e in range(soft_ptr[r], soft_ptr[r + 1]):
                            k = soft_leaf[e]
                            at = query_offset[k]
                            for j in range(n):
                                acc = 0.0
                                for s2 in range(leaf_card[k]):
                                    acc += soft_lam[e, s2] * tab[leaf_base[k] + s2 * leaf_npa[k] + outer_off[k, o] + at[c0 + j]]
                                t[j] *= acc
                    else:
                        # the prior tile times the observed tables, four at a time (t is read and written once per four)
                        e = 0
                        if h >= 2:
                            a0, a1 = tv[rows_k[i, 0], rows_s[i, 0]], tv[rows_k[i, 1], rows_s[i, 1]]
                            for j in range(n):
                                t[j] = prior[p, o, c0 + j] * w * a0[j] * a1[j]
                            e = 2
                        else:
                            for j in range(n):
                                t[j] = prior[p, o, c0 + j] * w
                        while e + 4 <= h:
                            a0, a1 = tv[rows_k[i, e], rows_s[i, e]], tv[rows_k[i, e + 1], rows_s[i, e + 1]]
                            a2, a3 = tv[rows_k[i, e + 2], rows_s[i, e + 2]], tv[rows_k[i, e + 3], rows_s[i, e + 3]]
                            for j in range(n):
                                t[j] *= (a0[j] * a1[j]) * (a2[j] * a3[j])
                            e += 4
                        while e < h:
                            a0 = tv[rows_k[i, e], rows_s[i, e]]
                            for j in range(n):
                                t[j] *= a0[j]
                            e += 1
                        for e in range(soft_ptr[r], soft_ptr[r + 1]):
                            k = soft_leaf[e]
                            for j in range(n):
                                acc = 0.0
                                for s2 in range(leaf_card[k]):
                                    acc += soft_lam[e, s2] * tv[k, s2, j]
                                t[j] *= acc
                    # the tile is folded for all the block's rows at once below (one matrix product)
                    slot_row[n_slots] = i
                    if level == 0:
                        z_none[r, o] = t[0]
                    n_slots += 1
                # P(e) and the marginals, four rows at a time: each configuration's indicators (and a one) are
                # read once for four rows (t is the tiles times the transposed indicator matrix)
                for s0 in range(0, n_slots, 4):
                    width = min(4, n_slots - s0)
                    for q in range(nq + 1):
                        weights = bit_weight[q]
                        if width == 4:
                            t0, t1, t2, t3 = tiles[s0], tiles[s0 + 1], tiles[s0 + 2], tiles[s0 + 3]
                            a0 = a1 = a2 = a3 = 0.0
                            for j in range(n):
                                bj = weights[c0 + j]
                                a0 += t0[j] * bj
                                a1 += t1[j] * bj
                                a2 += t2[j] * bj
                                a3 += t3[j] * bj
                            sums[0], sums[1], sums[2], sums[3] = a0, a1, a2, a3
                        else:
                            for w4 in range(width):
                                tw = tiles[s0 + w4]
                                acc = 0.0
                                for j in range(n):
                                    acc += tw[j] * weights[c0 + j]
                                sums[w4] = acc
                        for w4 in range(width):
                            i = slot_row[s0 + w4]
                            if q < nq:
                                m_block[i, q] += sums[w4]
                            else:
                                z_block[i] += sums[w4]
                                zo_block[i, o] += sums[w4]
        # an outer configuration of a row is done once what its unvisited levels could add is negligible
        # against the row's P(e) so far (each of the row's k outer configurations may leave 1/k of the tolerance)
        for i in range(n_rows):
            if not active[i]:
                continue
            r = perm[start + i]
            p = row_prior[r]
            k = n_live[i]
            still = False
            for o in range(n_outer):
                if not live[i, o]:
                    continue
                w = outer_w[r, o]
                done = w * tail[p, o, level] <= tolerance * z_block[i] / k
                # each condition's mass above this level against its own mass so far (zero while a condition has
                # no mass yet: it may first get some at a later level); a condition observed in a state is known
                q = 0
                while done and q < nq:
                    if hard[r, n_leaves - nq + q] < 0:
                        done = w * condition_tail[p, o, level, q] <= relative_tolerance * m_block[i, q] / k
                    q += 1
                if done:
                    live[i, o] = False
                else:
                    still = True
            if not still:
                active[i] = False
                n_active -= 1
        for o in range(n_outer):
            needed[o] = False
            for i in range(n_rows):
                if live[i, o]:
                    needed[o] = True
                    break
    for i in range(n_rows):
        r = perm[start + i]
        z[r] = z_block[i]
        for j in range(nq):
            m[r, j] = m_block[i, j]
        for o in range(n_outer):
            z_outer[r, o] = zo_block[i, o]


@_jit(parallel=True)
def run_parallel(perm, prior, tail, condition_tail, row_prior, outer_w, tab, leaf_base, leaf_npa, leaf_card, outer_off, query_offset,
                  bit_weight, level_ptr, tile, hard, soft_ptr, soft_leaf, soft_lam, tolerance, relative_tolerance, block,
                  z, m, z_outer, z_none):  # pragma: no cover - compiled by numba
    n_rows = perm.shape[0]
    n_blocks = (n_rows + block - 1) // block
    for i in numba.prange(n_blocks):
        run_block(i * block, min(n_rows, (i + 1) * block), perm, prior, tail, condition_tail, row_prior, outer_w, tab, leaf_base,
                   leaf_npa, leaf_card, outer_off, query_offset, bit_weight, level_ptr, tile, hard, soft_ptr,
                   soft_leaf, soft_lam, tolerance, relative_tolerance, z, m, z_outer, z_none)
