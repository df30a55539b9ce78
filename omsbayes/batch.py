"""Diagnose a cohort: one row of condition posteriors per case.

A cohort is a :class:`pandas.DataFrame` with one row per case. Its columns are
variables of the model, holding a state name (hard evidence), a probability in
[0, 1] for a two-state variable (an uncertain observation, as in
:meth:`~omsbayes.DiagnosticModel.diagnose`), or nothing (NaN, None or an empty
string: not observed); an optional ``age`` column holds the age in years (or
an age bin's name).

Every row goes through the engine's one program for the conditions
(:mod:`omsbayes.engine.universal`), whatever it observes: an unobserved
variable is a likelihood of ones, so a cohort whose rows each observe their
own variables is one batch and nothing is compiled per pattern. Rows are run in
chunks whose working memory fits a budget; each distinct evidence row is
computed once and its answer copied to the rows that repeat it (exact; switch
it off with ``dedupe=False``). A model too large for that program is run
pattern by pattern (each compiled once).
"""

from __future__ import annotations

import math
import numbers
import weakref
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .errors import EvidenceError, did_you_mean
from .evidence import MAX_AGE_YEARS, is_missing

if TYPE_CHECKING:  # pragma: no cover
    from .model import DiagnosticModel

__all__ = ["diagnose_batch", "diagnose_dask", "encode_cohort", "CohortEvidence"]


class CohortEvidence:
    """A cohort checked against a model and encoded for the engine.

    Attributes
    ----------
    index : pandas.Index
        The cohort's row labels.
    hard : dict
        Variable -> int array ``(n,)``: the observed state's index, -1 where the
        variable is not observed in one state.
    soft : dict
        Two-state variable -> float array ``(n,)``: the probability given for
        its second state, NaN where none was given.
    """

    def __init__(self, index: pd.Index, hard: dict[str, np.ndarray], soft: dict[str, np.ndarray]):
        self.index = index
        self.hard = hard
        self.soft = soft

    def __len__(self) -> int:
        return len(self.index)

    def patterns(self) -> tuple[np.ndarray, list[tuple[tuple[str, ...], tuple[str, ...]]]]:
        """The evidence pattern of each row: ``(pattern number per row, [(hard vars, soft vars), ...])``."""
        hard_names, soft_names = list(self.hard), list(self.soft)
        columns = [self.hard[v] >= 0 for v in hard_names] + [~np.isnan(self.soft[v]) for v in soft_names]
        if not columns or len(self) == 0:
            return np.zeros(len(self), dtype=np.intp), [((), ())]
        first, inverse = distinct_rows([(c.astype(np.uint64), 2) for c in columns])
        described = []
        for row in first:
            hard = tuple(v for v, c in zip(hard_names, columns) if c[row])
            soft = tuple(v for v, c in zip(soft_names, columns[len(hard_names) :]) if c[row])
            described.append((hard, soft))
        return inverse, described


def distinct_rows(columns: list[tuple[np.ndarray, int | None]]) -> tuple[np.ndarray, np.ndarray]:
    """Group equal rows of a table given by columns.

    Parameters
    ----------
    columns : list of (array, radix)
        Integer columns with values in ``[0, radix)``, packed several to a
        64-bit word, or float columns (radix None), compared bit for bit.

    Returns
    -------
    first : numpy.ndarray
        One row number per distinct row.
    inverse : numpy.ndarray
        The distinct row (index into ``first``) of every row.
    """
    n = len(columns[0][0])
    words, word, span = [], np.zeros(n, dtype=np.uint64), 1
    for values, radix in columns:
        if radix is None:
            words.append(np.ascontiguousarray(values, dtype=np.float64).view(np.uint64))
            continue
        if span * radix >= 2**63:
            words.append(word)
            word, span = np.zeros(n, dtype=np.uint64), 1
        word = word * np.uint64(radix) + values.astype(np.uint64)
        span *= radix
    words.append(word)
    order = np.lexsort(words[::-1])
    change = np.zeros(n, dtype=bool)
    change[:1] = True
    for w in words:
        ranked = w[order]
        change[1:] |= ranked[1:] != ranked[:-1]
    inverse = np.empty(n, dtype=np.intp)
    inverse[order] = np.cumsum(change) - 1
    return order[change], inverse


def _row(index: pd.Index, position: int) -> str:
    return f"Row {_shown(index[position])} of the cohort"


def _shown(value) -> str:
    """A cell or label as the user wrote it: numbers plainly (not ``np.float64(1.5)``), strings quoted."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return f"{value:g}"
    return repr(value)


_is_missing = is_missing  # the one missing-value rule (omsbayes.evidence): NaN of any float type, pd.NA, blanks


def encode_cohort(model: DiagnosticModel, frame: pd.DataFrame, what: str = "diagnose_batch") -> CohortEvidence:
    """Check a cohort's columns, states and ages against the model and encode them.

    Parameters
    ----------
    model : DiagnosticModel
    frame : pandas.DataFrame
        One row per case (see :func:`diagnose_batch`).
    what : str
        The calling function, for messages.

    Returns
    -------
    CohortEvidence

    Raises
    ------
    EvidenceError
        For a frame that is not a DataFrame, an unknown or repeated column
        (with a did-you-mean), an illegal state, a probability outside [0, 1]
        or on a variable with more than two states, or an invalid age, naming
        the row.
    """
    if not isinstance(frame, pd.DataFrame):
        raise EvidenceError(
            f"The cohort given to {what} must be a pandas DataFrame with one row per case and one column per "
            f"variable. Got {type(frame).__name__} instead."
        )
    states = model.state_map
    repeated = frame.columns[frame.columns.duplicated()]
    if len(repeated):
        raise EvidenceError(f"The cohort has the column {repeated[0]!r} more than once; give each variable one column.")
    for column in frame.columns:
        if not isinstance(column, str) or column not in states:
            raise EvidenceError(
                f"Unknown column {column!r} in the cohort: columns must be variables of the model or 'age'."
                + did_you_mean(str(column), list(states))
            )
    index = frame.index
    hard: dict[str, np.ndarray] = {}
    soft: dict[str, np.ndarray] = {}
    for column in frame.columns:
        if column == "age":
            hard["age"] = _encode_age(model, frame[column], index)
        else:
            codes, probs = _encode_variable(column, states[column], frame[column], index)
            hard[column] = codes
            if probs is not None:
                soft[column] = probs
    return CohortEvidence(index, hard, soft)


def _encode_variable(var: str, legal: tuple[str, ...], column: pd.Series, index: pd.Index):
    """State indices (-1 = not observed in one state) and, for two-state variables, probabilities (NaN = none)."""
    if pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column.dtype):
        probs = column.to_numpy(dtype=float, copy=True)  # NaN: not observed
        given = np.flatnonzero(~np.isnan(probs))
        bad = given[~((probs[given] >= 0.0) & (probs[given] <= 1.0))]
        if len(given) and (len(legal) != 2 or len(bad)):
            position = int(bad[0]) if len(bad) else int(given[0])
            _probability(var, legal, probs[position], index, position)  # raises, naming the row
        return np.full(len(column), -1, dtype=np.intp), (probs if len(given) else None)
    # each distinct cell value is checked once; rows then take their value's meaning
    values = column.array if pd.api.types.is_string_dtype(column.dtype) and column.dtype != object else column.to_numpy(dtype=object)
    try:
        which, uniques = pd.factorize(values, use_na_sentinel=True)  # string arrays: their own (Arrow) encoder
    except TypeError:  # unhashable cells (lists, dicts): not a state or a probability
        cells = column.to_numpy(dtype=object)
        position = next(i for i, v in enumerate(cells) if not isinstance(v, (str, numbers.Number)) and not is_missing(v))
        raise EvidenceError(
            f"{_row(index, position)}: the evidence for '{var}' must be a state name or a probability; "
            f"got {_shown(cells[position])}."
        ) from None
    state_of = np.full(len(uniques) + 1, -1, dtype=np.intp)  # the last entry serves missing cells (-1)
    prob_of = np.full(len(uniques) + 1, np.nan)
    lookup = {s: i for i, s in enumerate(legal)}
    for u, value in enumerate(uniques):
        if isinstance(value, str) and value in lookup:
            state_of[u] = lookup[value]
        elif not _is_missing(value):
            prob_of[u] = _probability(var, legal, value, index, int(np.argmax(which == u)))
    return state_of[which], (prob_of[which] if np.any(~np.isnan(prob_of)) else None)


def _probability(var: str, legal: tuple[str, ...], value, index: pd.Index, position: int) -> float:
    """The probability a cell gives for a two-state variable; :class:`EvidenceError` for anything else."""
    where = _row(index, position)
    if isinstance(value, (bool, np.bool_)):
        raise EvidenceError(f"{where}: give '{var}' a state name such as '{legal[-1]}' or '{legal[0]}', not {_shown(value)}.")
    number = None
    if isinstance(value, numbers.Real):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            raise EvidenceError(
                f"{where}: variable '{var}' has no state {value!r}; its states are {list(legal)}."
                + did_you_mean(value, legal)
            ) from None
    if number is None:
        raise EvidenceError(f"{where}: the evidence for '{var}' must be a state name or a probability; got {_shown(value)}.")
    if len(legal) != 2:
        raise EvidenceError(
            f"{where}: a probability for '{var}' needs a two-state variable; give one of its states {list(legal)} "
            f"instead of {_shown(value)}."
        )
    if not (math.isfinite(number) and 0.0 <= number <= 1.0):
        raise EvidenceError(
            f"{where}: the probability given for '{var}' must be between 0 and 1 (how sure the observer is that "
            f"it is '{legal[1]}'). Got {_shown(value)} instead."
        )
    return number


def _encode_age(model: DiagnosticModel, column: pd.Series, index: pd.Index) -> np.ndarray:
    """Age bin indices from years (or bin names); -1 where the age is unknown."""
    bins = model.age_states
    edges = np.asarray(model.spec.age_bins_years, dtype=float)
    codes = np.full(len(column), -1, dtype=np.intp)
    if pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column.dtype):
        years = np.array(column, dtype=float)
        unread = np.zeros(len(column), dtype=bool)
    else:
        years = np.array(pd.to_numeric(column, errors="coerce"), dtype=float)
        unread = np.isnan(years) & ~column.isna().to_numpy()  # bin names, blanks and mistakes
    values = column.to_numpy(dtype=object)
    if pd.api.types.is_bool_dtype(column.dtype) or pd.api.types.infer_dtype(column, skipna=True) in ("boolean", "mixed"):
        flags = [i for i, v in enumerate(values) if isinstance(v, (bool, np.bool_))]  # True is not an age of 1
        years[flags] = np.inf  # reported below
    for position in np.flatnonzero(unread):
        value = values[position]
        if isinstance(value, str) and value in bins:
            codes[position] = bins.index(value)
        elif not _is_missing(value):
            years[position] = np.inf  # reported below
    given = ~np.isnan(years)
    bad = np.flatnonzero(given & ~((years >= 0.0) & (years <= MAX_AGE_YEARS)))
    if len(bad):
        raise EvidenceError(
            f"{_row(index, int(bad[0]))}: the 'age' column must hold a number of years between 0 and "
            f"{MAX_AGE_YEARS:g} (or an age bin: {', '.join(bins)}). Got {_shown(values[int(bad[0])])} instead."
        )
    codes[given] = np.searchsorted(edges, years[given], side="right") - 1
    return codes


def diagnose_batch(
    model: DiagnosticModel,
    frame: pd.DataFrame,
    progress: bool = False,
    memory_budget: int | None = None,
    dedupe: bool = True,
    setting: str | None = None,
) -> pd.DataFrame:
    """Posterior probability of every condition for every case of a cohort.

    See :meth:`DiagnosticModel.diagnose_batch`.
    """
    from .settings import frame_with_settings

    frame = frame_with_settings(model.spec, frame, setting)  # each row's setting as selection-variable columns
    cohort = encode_cohort(model, frame)
    conditions = model.conditions
    out = np.empty((len(cohort), len(conditions)))
    impossible = np.zeros(len(cohort), dtype=bool)
    from tqdm.auto import tqdm

    chunk = model.engine.cohort_chunk(memory_budget)
    with tqdm(total=len(cohort), desc="diagnose_batch", unit="case", disable=not progress, leave=False) as bar:
        if chunk is None:  # no universal program: pattern by pattern
            inverse, patterns = cohort.patterns()
            order = np.argsort(inverse, kind="stable")
            ends = np.cumsum(np.bincount(inverse, minlength=len(patterns)))
            for number, (hard, soft) in enumerate(patterns):
                rows = order[(ends[number - 1] if number else 0) : ends[number]]
                if len(rows):
                    _run_pattern(model, cohort, rows, hard, soft, out, impossible, memory_budget, dedupe, bar)
        elif len(cohort):
            _run_rows(model, cohort, out, impossible, chunk, dedupe, bar)
    if impossible.any():
        labels = ", ".join(_shown(cohort.index[i]) for i in np.flatnonzero(impossible)[:3])
        more = int(impossible.sum()) - min(3, int(impossible.sum()))
        raise EvidenceError(
            f"The model gives the evidence of row(s) {labels}" + (f" and {more} more" if more else "")
            + " of the cohort probability zero; correct or remove the items that cannot hold together "
            "(model.diagnose on one of them names them)."
        )
    result = pd.DataFrame(out, index=frame.index, columns=pd.Index(conditions, name="condition"))
    result.attrs["provenance"] = _provenance(model)
    return result


def diagnose_dask(model: DiagnosticModel, frame, **options):
    """``diagnose_batch`` on every partition of a Dask DataFrame: a lazy Dask DataFrame of posteriors.

    Each partition is a pandas DataFrame sent, with the model, to a worker
    (the model pickles without its compiled programs and caches, which each
    worker rebuilds on its first partition) and diagnosed there. Compute the
    result on any Dask scheduler, a ``distributed`` cluster included.

    Parameters
    ----------
    model : DiagnosticModel
    frame : dask.dataframe.DataFrame
        One row per case, columns as for :func:`diagnose_batch`.
    **options
        Passed on to :func:`diagnose_batch` (``memory_budget``, ``dedupe``).

    Returns
    -------
    dask.dataframe.DataFrame
        Indexed like ``frame``, one float column per condition.

    Examples
    --------
    >>> import dask.dataframe as dd  # doctest: +SKIP
    >>> from dask.distributed import Client, LocalCluster  # doctest: +SKIP
    >>> client = Client(LocalCluster(n_workers=2))  # doctest: +SKIP
    >>> cohort = dd.read_csv("cohort-*.csv")  # doctest: +SKIP
    >>> posteriors = diagnose_dask(model, cohort).compute()  # doctest: +SKIP
    """
    meta = pd.DataFrame({c: pd.Series(dtype=float) for c in model.conditions})
    meta.columns.name = "condition"
    return frame.map_partitions(_diagnose_partition, model, options, meta=meta)


def _diagnose_partition(part: pd.DataFrame, model: DiagnosticModel, options: dict) -> pd.DataFrame:
    out = diagnose_batch(model, part, **options)
    out.attrs = {}  # provenance dicts do not concatenate across partitions
    return out


_PROVENANCE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _provenance(model: DiagnosticModel) -> dict:
    """The model's provenance as a dict, looked up once per model (reading package metadata takes milliseconds)."""
    found = _PROVENANCE.get(model)
    if found is None:
        from .provenance import provenance_of

        found = _PROVENANCE[model] = provenance_of(model).to_dict()
    return dict(found)


def _run_rows(model, cohort: CohortEvidence, out, impossible, chunk: int, dedupe: bool, bar) -> None:
    """Posteriors of every row through the universal program, each distinct row once (``dedupe``)."""
    engine = model.engine
    if dedupe and len(cohort) > 1:
        keys = [(codes + 1, len(model.states(v)) + 1) for v, codes in cohort.hard.items()]
        keys += [(p, None) for p in cohort.soft.values()]
        first, back = distinct_rows(keys) if keys else (np.zeros(1, dtype=np.intp), np.zeros(len(cohort), dtype=np.intp))
        order = np.argsort(first)  # distinct rows in cohort order: all rows distinct -> plain slices below
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        first, back = first[order], rank[back]
        weight = np.bincount(back)
    else:
        first, back, weight = np.arange(len(cohort)), np.arange(len(cohort)), np.ones(len(cohort), dtype=np.intp)
    answer = np.empty((len(first), out.shape[1]))
    possible = np.ones(len(first), dtype=bool)
    for start in range(0, len(first), chunk):
        pick = first[start : start + chunk]
        if len(first) == len(cohort):  # every row distinct: first is 0, 1, 2, ...
            pick = slice(start, start + chunk)
        states = {v: codes[pick] for v, codes in cohort.hard.items()}
        likelihoods = {}
        for v, p in cohort.soft.items():
            p = p[pick]
            likelihoods[v] = np.column_stack([1.0 - p, p])  # NaN rows: no likelihood
        result = engine.run_rows(states, likelihoods)
        block = slice(start, start + len(result.log_evidence))
        possible[block] = np.isfinite(result.log_evidence)
        answer[block] = np.column_stack([result.marginals[c][:, -1] for c in model.conditions])
        bar.update(int(weight[block].sum()))
    if len(first) == len(cohort):
        out[:], impossible[:] = answer, ~possible
    else:
        out[:] = answer[back]
        impossible[:] = ~possible[back]


def _run_pattern(model, cohort, rows, hard, soft, out, impossible, memory_budget, dedupe, bar) -> None:
    """Posteriors of the rows that share one evidence pattern, written into ``out``."""
    engine = model.engine
    conditions = model.conditions
    queries = [c for c in conditions if c not in hard]
    states = {v: cohort.hard[v][rows] for v in hard}
    probs = {v: cohort.soft[v][rows] for v in soft}
    if dedupe and len(rows) > 1 and (hard or soft):
        keys = [(states[v], len(model.states(v))) for v in hard] + [(probs[v], None) for v in soft]
        first, back = distinct_rows(keys)
        weight = np.bincount(back)
    else:
        first, back, weight = np.arange(len(rows)), np.arange(len(rows)), np.ones(len(rows), dtype=int)
    n_unique = len(first)
    answer = np.empty((n_unique, len(conditions)))
    possible = np.ones(n_unique, dtype=bool)
    chunk = engine.chunk_size(hard, soft, queries, budget=memory_budget)
    for start in range(0, n_unique, chunk):
        pick = first[start : start + chunk]
        result = engine.run_states(
            {v: s[pick] for v, s in states.items()},
            queries,
            likelihoods={v: np.column_stack([1.0 - p[pick], p[pick]]) for v, p in probs.items()},
        )
        block = slice(start, start + len(pick))
        possible[block] = np.isfinite(result.log_evidence)
        for j, c in enumerate(conditions):
            if c in hard:
                answer[block, j] = (states[c][pick] == len(model.states(c)) - 1).astype(float)
            else:
                answer[block, j] = result.marginals[c][:, -1]
        bar.update(int(weight[start : start + len(pick)].sum()))
    out[rows] = answer[back]
    impossible[rows] = ~possible[back]

