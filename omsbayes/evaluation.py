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

References
----------
Brier GW. Verification of forecasts expressed in terms of probability.
Mon Weather Rev 1950;78(1):1-3.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .cases import Case, CaseSet
from .engine import posterior_arrays
from .provenance import Provenance, provenance_of

if TYPE_CHECKING:  # pragma: no cover
    from .model import DiagnosticModel

__all__ = ["Evaluation", "evaluate", "CALIBRATION_BINS"]

#: Edges of the calibration bins.
CALIBRATION_BINS = (0.0, 0.05, 0.2, 0.4, 0.6, 0.8, 0.95, 1.0)
_EPS = 1e-15


@dataclass(frozen=True)
class Evaluation:
    """Per-case results and summary metrics of a model on a case set.

    Attributes
    ----------
    cases : pandas.DataFrame
        One row per case: ``primary``, ``age_years``, ``difficulty``,
        ``p_primary``, ``rank``, ``top``, ``p_top``, ``hit1``, ``hit3``,
        ``brier``, ``log_loss``.
    posteriors : pandas.DataFrame
        Case x condition posterior probabilities.
    summary : pandas.Series
        ``n``, ``top1``, ``top3``, ``mrr``, ``brier``, ``log_loss``.
    calibration : pandas.DataFrame
        Per probability bin: ``n``, ``mean_predicted``, ``observed``.
    provenance : Provenance
    """

    cases: pd.DataFrame
    posteriors: pd.DataFrame
    summary: pd.Series
    calibration: pd.DataFrame
    provenance: Provenance = field(repr=False)

    def report(self) -> str:
        """Metrics and per-case ranks as plain text."""
        s = self.summary
        lines = [
            f"Cases: {int(s['n'])}",
            f"top-1 {s['top1']:.3f}   top-3 {s['top3']:.3f}   MRR {s['mrr']:.3f}   "
            f"Brier {s['brier']:.4f}   log loss {s['log_loss']:.4f}",
            "",
            f"{'case':<40} {'primary':<24} {'P(primary)':>10} {'rank':>4}  top",
        ]
        for cid, row in self.cases.iterrows():
            lines.append(f"{cid:<40} {row['primary']:<24} {row['p_primary']:>10.3f} {row['rank']:>4}  {row['top']}")
        lines.append("")
        lines.append("Calibration (all case x condition pairs):")
        lines.append(self.calibration.to_string(float_format=lambda x: f"{x:.3f}"))
        lines.append(f"[{self.provenance}]")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        """A JSON-ready dict."""
        return {
            "summary": {k: float(v) for k, v in self.summary.items()},
            "cases": self.cases.reset_index().to_dict(orient="records"),
            "calibration": self.calibration.reset_index().to_dict(orient="records"),
            "provenance": self.provenance.to_dict(),
        }

    def plot(self, ax=None):
        """Reliability diagram (observed frequency against mean prediction); returns the Axes."""
        from .plotting import plot_calibration

        return plot_calibration(self, ax=ax)

    def _repr_html_(self) -> str:
        return self.summary.to_frame("value").to_html() + self.cases.to_html(float_format=lambda x: f"{x:.3f}")


def evaluate(model: DiagnosticModel, cases: CaseSet | Iterable[Case]) -> Evaluation:
    """Diagnose every case and score the model.

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
    EvidenceError
        If a case's evidence does not fit the model.
    """
    cases = list(cases)
    conditions = model.conditions
    rows, post_rows = [], {}
    for case in cases:
        evidence = model.normalize(case.evidence, case.age_years, what="evaluate")
        arrays, _ = posterior_arrays(model, conditions, evidence)
        p = pd.Series({c: float(arrays[c][1]) for c in conditions})
        post_rows[case.id] = p
        truth = pd.Series({c: float(c in case.diagnosis) for c in conditions})
        order = p.sort_values(ascending=False, kind="stable")
        rank = list(order.index).index(case.primary) + 1
        clipped = p.clip(_EPS, 1 - _EPS)
        rows.append(
            {
                "case": case.id,
                "primary": case.primary,
                "age_years": case.age_years,
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
    posteriors = pd.DataFrame(post_rows).T[conditions]
    posteriors.index.name = "case"
    summary = pd.Series(
        {
            "n": float(len(table)),
            "top1": float(table["hit1"].mean()),
            "top3": float(table["hit3"].mean()),
            "mrr": float((1.0 / table["rank"]).mean()),
            "brier": float(table["brier"].mean()),
            "log_loss": float(table["log_loss"].mean()),
        },
        name="metric",
    )
    truth = pd.DataFrame(
        {c: [float(c in case.diagnosis) for case in cases] for c in conditions}, index=posteriors.index
    )
    return Evaluation(table, posteriors, summary, _calibration(posteriors, truth), provenance_of(model))


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
