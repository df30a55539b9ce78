"""Evaluate a model on encoded cases: ranking, probability scores, calibration.

Metrics
-------
top-1, top-3
    Share of cases whose primary diagnosis ranks first / in the first three.
MRR
    Mean reciprocal rank of the primary diagnosis.
Brier score
    Mean over cases of the mean over conditions of ``(p_c - y_c)^2``, where
    ``y_c`` is 1 for every condition the case has (its ``diagnosis`` list).
log loss
    Mean over cases of the mean over conditions of the binary cross-entropy
    ``-(y log p + (1 - y) log(1 - p))``, with ``p`` clipped to [1e-15, 1 - 1e-15].
calibration
    All (case, condition) pairs binned by predicted probability: the mean
    prediction and the observed frequency in each bin.

Uncertainty
-----------
A hundred cases leave every metric uncertain (top-1 of 0.7 on 89 cases has a
standard error near 0.05). :meth:`Evaluation.intervals` gives percentile
bootstrap intervals (cases resampled with replacement, Efron and Tibshirani
1993); :func:`compare_evaluations` gives the paired bootstrap interval of the difference
between two evaluations of the same cases (two models, or two versions), the
fair way to say whether a change helped.

Every metric is reported overall and per split: by primary diagnosis, children
(age < 18 years) versus adults, and by clinical setting (the case's
``setting`` field, which is passed to the model).

References
----------
Brier GW. Verification of forecasts expressed in terms of probability.
Mon Weather Rev 1950;78(1):1-3.
Efron B, Tibshirani RJ. An Introduction to the Bootstrap. Chapman & Hall, 1993.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .cases import Case, CaseSet
from .errors import CaseFileError, EvidenceError
from .evidence import check_integer
from .provenance import Provenance, provenance_of
from .uncertainty_draws import check_rng

if TYPE_CHECKING:  # pragma: no cover
    from .model import DiagnosticModel

__all__ = ["Evaluation", "evaluate", "compare_evaluations", "CALIBRATION_BINS", "ADULT_AGE_YEARS", "METRICS", "SPLITS"]

#: Edges of the calibration bins.
CALIBRATION_BINS = (0.0, 0.05, 0.2, 0.4, 0.6, 0.8, 0.95, 1.0)
#: A case is an adult from this age (years) on.
ADULT_AGE_YEARS = 18.0
#: The columns of :attr:`Evaluation.summary` and of every split table.
METRICS = ("n", "top1", "top3", "mrr", "brier", "log_loss")
#: The splits of :attr:`Evaluation.splits`: split name -> column of :attr:`Evaluation.cases` grouped on.
SPLITS = {"primary": "primary", "age": "age_group", "setting": "setting"}
#: Group label of a case without an age / without a setting.
UNKNOWN = "unknown"
_EPS = 1e-15
#: Each metric but ``n`` is a mean over cases of a per-case value: metric -> the column it comes from
#: (MRR averages 1 / rank).
_PER_CASE = {"top1": "hit1", "top3": "hit3", "mrr": "rank", "brier": "brier", "log_loss": "log_loss"}
#: Metrics for which smaller is better.
_LOWER_IS_BETTER = ("brier", "log_loss")
#: Bootstrap resamples drawn at once (bounds the index matrix: this many x the number of cases).
_DRAW_CHUNK = 256


@dataclass(frozen=True)
class Evaluation:
    """Per-case results and summary metrics of a model on a case set.

    Attributes
    ----------
    cases : pandas.DataFrame
        One row per case: ``primary``, ``age_years``, ``age_group``
        (``"child"``, ``"adult"`` or ``"unknown"``), ``setting`` (``"unknown"``
        when the case has none), ``difficulty``, ``p_primary``, ``rank``,
        ``top``, ``p_top``, ``hit1``, ``hit3``, ``brier``, ``log_loss``.
    posteriors : pandas.DataFrame
        Case x condition posterior probabilities.
    summary : pandas.Series
        ``n``, ``top1``, ``top3``, ``mrr``, ``brier``, ``log_loss`` over all cases.
    calibration : pandas.DataFrame
        Per probability bin: ``n``, ``mean_predicted``, ``observed``.
    splits : pandas.DataFrame
        The metrics of :attr:`summary` per group, indexed by (``split``,
        ``group``) with split ``"primary"`` (per primary diagnosis), ``"age"``
        (children versus adults) and ``"setting"``.
    provenance : Provenance
    """

    cases: pd.DataFrame
    posteriors: pd.DataFrame
    summary: pd.Series
    calibration: pd.DataFrame
    splits: pd.DataFrame
    provenance: Provenance = field(repr=False)

    @property
    def by_primary(self) -> pd.DataFrame:
        """Metrics per primary diagnosis."""
        return self.splits.loc["primary"]

    @property
    def by_age(self) -> pd.DataFrame:
        """Metrics of children (age < 18 years) and adults."""
        return self.splits.loc["age"]

    @property
    def by_setting(self) -> pd.DataFrame:
        """Metrics per clinical setting."""
        return self.splits.loc["setting"]

    def report(self) -> str:
        """Metrics, the split tables, per-case ranks and calibration as plain text."""
        s = self.summary
        fmt = {m: (lambda x: f"{x:.0f}") if m == "n" else (lambda x: f"{x:.3f}") for m in METRICS}
        lines = [
            f"Cases: {int(s['n'])}",
            f"top-1 {s['top1']:.3f}   top-3 {s['top3']:.3f}   MRR {s['mrr']:.3f}   "
            f"Brier {s['brier']:.4f}   log loss {s['log_loss']:.4f}",
        ]
        for name, title in (("primary", "By primary diagnosis"), ("age", "Children and adults"), ("setting", "By setting")):
            lines += ["", f"{title}:", self.splits.loc[name].to_string(formatters=fmt)]
        lines += ["", f"{'case':<40} {'primary':<24} {'P(primary)':>10} {'rank':>4}  top"]
        for cid, row in self.cases.iterrows():
            lines.append(f"{cid:<40} {row['primary']:<24} {row['p_primary']:>10.3f} {row['rank']:>4}  {row['top']}")
        lines.append("")
        lines.append("Calibration (all case x condition pairs):")
        lines.append(self.calibration.to_string(float_format=lambda x: f"{x:.3f}"))
        lines.append(f"[{self.provenance}]")
        return "\n".join(lines)

    def intervals(self, draws: int = 2000, seed: int | np.random.Generator | None = 0, level: float = 0.95) -> pd.DataFrame:
        """Percentile bootstrap intervals of the summary metrics (cases resampled with replacement).

        Parameters
        ----------
        draws : int
            Bootstrap resamples (at least 1).
        seed : int, numpy.random.Generator or None
            Seed or generator of the resampling (the same seed gives the same intervals).
        level : float
            Coverage of each interval, in (0, 1).

        Returns
        -------
        pandas.DataFrame
            Indexed by metric (``top1``, ``top3``, ``mrr``, ``brier``,
            ``log_loss``): ``value`` (as in :attr:`summary`), ``low``, ``high``
            and ``se`` (the bootstrap standard error).

        Raises
        ------
        EvidenceError
            For ``draws`` below 1, a ``level`` outside (0, 1) or a seed that is
            not an integer >= 0, a Generator or None.

        Examples
        --------
        >>> import omsbayes
        >>> result = omsbayes.evaluate(omsbayes.load_model(), omsbayes.load_public_vignettes())
        >>> table = result.intervals(draws=500, seed=1)
        >>> bool(table.loc["top1", "low"] <= result.summary["top1"] <= table.loc["top1", "high"])
        True
        """
        rng = _resampling(draws, seed, level, "Evaluation.intervals")
        values = _per_case_values(self.cases)
        stats = _resampled_means(values[None], draws, rng)[0]
        lo, hi = np.quantile(stats, [(1 - level) / 2, (1 + level) / 2], axis=0)
        return pd.DataFrame(
            {"value": values.mean(axis=0), "low": lo, "high": hi, "se": stats.std(axis=0, ddof=1) if draws > 1 else np.nan},
            index=pd.Index(list(_PER_CASE), name="metric"),
        )

    def to_dict(self) -> dict:
        """A JSON-ready dict."""
        splits = {
            name: {str(group): {m: float(v) for m, v in row.items()} for group, row in self.splits.loc[name].iterrows()}
            for name in SPLITS
        }
        return {
            "summary": {k: float(v) for k, v in self.summary.items()},
            "splits": splits,
            "cases": self.cases.reset_index().to_dict(orient="records"),
            "calibration": self.calibration.reset_index().to_dict(orient="records"),
            "provenance": self.provenance.to_dict(),
        }

    def plot(self, ax=None):
        """Reliability diagram (observed frequency against mean prediction, with bin counts); returns the Axes."""
        from .plotting import plot_calibration

        return plot_calibration(self, ax=ax)

    def _repr_html_(self) -> str:
        f3 = lambda x: f"{x:.3f}"  # noqa: E731
        parts = ["<h4>Overall</h4>", self.summary.to_frame("value").to_html(float_format=f3)]
        for name, title in (("primary", "By primary diagnosis"), ("age", "Children and adults"), ("setting", "By setting")):
            parts += [f"<h4>{title}</h4>", self.splits.loc[name].to_html(float_format=f3)]
        parts += ["<h4>Calibration</h4>", self.calibration.to_html(float_format=f3)]
        parts += ["<h4>Cases</h4>", self.cases.to_html(float_format=f3)]
        return "\n".join(parts)


def evaluate(model: DiagnosticModel, cases: CaseSet | Iterable[Case]) -> Evaluation:
    """Diagnose every case and score the model, overall and per split.

    A case with a ``setting`` is diagnosed with
    ``model.posteriors(evidence, age=..., setting=case.setting)``; a case
    without one with ``model.posteriors(evidence, age=...)``. Cases are run
    grouped by setting; results keep the order of ``cases``.

    Parameters
    ----------
    model : DiagnosticModel
    cases : CaseSet or iterable of Case
        For example :func:`omsbayes.load_cases` or
        :func:`omsbayes.datasets.load_public_vignettes`.

    Returns
    -------
    Evaluation

    Raises
    ------
    CaseFileError
        If there are no cases, or a case's diagnosis names a condition the
        model does not have.
    EvidenceError
        If a case's evidence does not fit the model.
    """
    cases = list(cases)
    if not cases:
        raise CaseFileError("evaluate needs at least one case; got none.")
    conditions = list(model.conditions)
    for case in cases:
        missing = [c for c in case.diagnosis if c not in conditions]
        if missing:
            raise CaseFileError(
                f"case '{case.id}': diagnosis {missing} is not among the model's conditions {conditions}."
            )
    post_rows = _posteriors(model, cases)
    rows = []
    for case in cases:
        p = post_rows[case.id]
        truth = pd.Series({c: float(c in case.diagnosis) for c in conditions})
        order = p.sort_values(ascending=False, kind="stable")
        rank = list(order.index).index(case.primary) + 1
        clipped = p.clip(_EPS, 1 - _EPS)
        rows.append(
            {
                "case": case.id,
                "primary": case.primary,
                "age_years": case.age_years,
                "age_group": _age_group(case.age_years),
                "setting": case.setting or UNKNOWN,
                "difficulty": case.difficulty,
                "p_primary": float(p[case.primary]),
                "rank": rank,
                "top": str(order.index[0]),
                "p_top": float(order.iloc[0]),
                "hit1": rank == 1,
                "hit3": rank <= 3,
                "brier": float(((p - truth) ** 2).mean()),
                "log_loss": float(-(truth * np.log(clipped) + (1 - truth) * np.log(1 - clipped)).mean()),
            }
        )
    table = pd.DataFrame(rows).set_index("case")
    posteriors = pd.DataFrame({cid: post_rows[cid] for cid in table.index}).T[conditions]
    posteriors.index.name = "case"
    summary = _metrics(table)
    summary.name = "metric"
    truth = pd.DataFrame(
        {c: [float(c in case.diagnosis) for case in cases] for c in conditions}, index=posteriors.index
    )
    splits = pd.concat(
        {name: table.groupby(column, sort=True).apply(_metrics) for name, column in SPLITS.items()},
        names=["split", "group"],
    )
    return Evaluation(table, posteriors, summary, _calibration(posteriors, truth), splits, provenance_of(model))


def _posteriors(model: DiagnosticModel, cases: list[Case]) -> dict[str, pd.Series]:
    """P(present) of every condition per case id, the cases run grouped by setting."""
    groups: dict[str | None, list[Case]] = {}
    for case in cases:
        groups.setdefault(case.setting or None, []).append(case)
    named = [s for s in groups if s is not None]
    if named and not _takes_setting(model):
        first = groups[named[0]][0]
        raise CaseFileError(
            f"case '{first.id}' names the setting '{first.setting}', but this model's posteriors() takes no "
            "setting argument; use a model with settings or a case file without 'setting' fields."
        )
    out: dict[str, pd.Series] = {}
    for setting, group in groups.items():
        for case in group:
            if setting is None:  # models without a setting argument keep working on such cases
                p = model.posteriors(case.evidence, age=case.age_years)
            else:
                p = model.posteriors(case.evidence, age=case.age_years, setting=setting)
            out[case.id] = pd.Series(np.asarray(p, dtype=float), index=list(model.conditions))
    return out


def _takes_setting(model) -> bool:
    try:
        params = inspect.signature(model.posteriors).parameters
    except (TypeError, ValueError):  # a builtin without a signature: let the call itself decide
        return True
    return "setting" in params or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())


def _age_group(age: float | None) -> str:
    if age is None:
        return UNKNOWN
    return "adult" if age >= ADULT_AGE_YEARS else "child"


def _metrics(table: pd.DataFrame) -> pd.Series:
    return pd.Series(
        {
            "n": float(len(table)),
            "top1": float(table["hit1"].mean()),
            "top3": float(table["hit3"].mean()),
            "mrr": float((1.0 / table["rank"]).mean()),
            "brier": float(table["brier"].mean()),
            "log_loss": float(table["log_loss"].mean()),
        }
    )


def _calibration(posteriors: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    p = posteriors.to_numpy().ravel()
    y = truth.to_numpy().ravel()
    edges = np.asarray(CALIBRATION_BINS)
    which = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, len(edges) - 2)
    rows = []
    for b in range(len(edges) - 1):
        mask = which == b
        if not mask.any():
            continue  # an empty bin has no frequency to report
        rows.append(
            {
                "bin": f"[{edges[b]:.2f}, {edges[b + 1]:.2f}{']' if b == len(edges) - 2 else ')'}",
                "n": int(mask.sum()),
                "mean_predicted": float(p[mask].mean()),
                "observed": float(y[mask].mean()),
            }
        )
    return pd.DataFrame(rows).set_index("bin")


def compare_evaluations(
    before: Evaluation,
    after: Evaluation,
    draws: int = 2000,
    seed: int | np.random.Generator | None = 0,
    level: float = 0.95,
) -> pd.DataFrame:
    """Paired bootstrap comparison of two evaluations on the cases they share.

    The same resampled cases score both evaluations in each draw, so the
    interval of the difference is not widened by the spread of the cases
    themselves (a paired design).

    Parameters
    ----------
    before, after : Evaluation
        For example one model version and the next, on the same case file.
    draws : int
        Bootstrap resamples (at least 1).
    seed : int, numpy.random.Generator or None
        Seed or generator of the resampling.
    level : float
        Coverage of each interval, in (0, 1).

    Returns
    -------
    pandas.DataFrame
        Indexed by metric: ``n`` (shared cases), ``before``, ``after``,
        ``difference`` (after - before), ``low``, ``high`` (its interval) and
        ``p_better`` (the share of resamples in which ``after`` is better:
        higher top-1, top-3 and MRR, lower Brier score and log loss).

    Raises
    ------
    CaseFileError
        If the two evaluations share no case id.
    EvidenceError
        For bad ``draws``, ``level`` or ``seed`` (as :meth:`Evaluation.intervals`).
    """
    rng = _resampling(draws, seed, level, "compare_evaluations")
    shared = before.cases.index.intersection(after.cases.index, sort=False)
    if len(shared) == 0:
        raise CaseFileError("compare_evaluations: the two evaluations share no case id; evaluate both on the same cases.")
    pair = np.stack([_per_case_values(before.cases.loc[shared]), _per_case_values(after.cases.loc[shared])])
    stats = _resampled_means(pair, draws, rng)
    diff = stats[1] - stats[0]
    lo, hi = np.quantile(diff, [(1 - level) / 2, (1 + level) / 2], axis=0)
    sign = np.array([-1.0 if m in _LOWER_IS_BETTER else 1.0 for m in _PER_CASE])
    means = pair.mean(axis=1)
    return pd.DataFrame(
        {
            "n": float(len(shared)),
            "before": means[0],
            "after": means[1],
            "difference": means[1] - means[0],
            "low": lo,
            "high": hi,
            "p_better": (diff * sign > 0).mean(axis=0),
        },
        index=pd.Index(list(_PER_CASE), name="metric"),
    )


def _resampling(draws, seed, level, what: str) -> np.random.Generator:
    """The generator of a bootstrap, after checking its arguments (EvidenceError naming the one at fault)."""
    check_integer(draws, "draws", what, minimum=1)
    if isinstance(level, bool) or not isinstance(level, (int, float)) or not 0 < level < 1:
        raise EvidenceError(f"The 'level' parameter of {what} must be a number strictly between 0 and 1. Got {level!r} instead.")
    check_rng(seed, what)
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def _per_case_values(cases: pd.DataFrame) -> np.ndarray:
    """(cases, metrics) array of the per-case values each metric averages."""
    columns = [1.0 / cases[c] if m == "mrr" else cases[c] for m, c in _PER_CASE.items()]
    return np.column_stack([np.asarray(column, dtype=float) for column in columns])


def _resampled_means(values: np.ndarray, draws: int, rng: np.random.Generator) -> np.ndarray:
    """(k, draws, metrics) means of ``values`` ((k, cases, metrics)) over case resamples shared by all k."""
    n = values.shape[1]
    out = np.empty((values.shape[0], draws, values.shape[2]))
    for start in range(0, draws, _DRAW_CHUNK):
        stop = min(draws, start + _DRAW_CHUNK)
        index = rng.integers(0, n, size=(stop - start, n))
        out[:, start:stop] = values[:, index].mean(axis=2)
    return out
