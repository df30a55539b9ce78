"""Evidence impact and value of information: what each finding did, and which test to do next.

Evidence impact
---------------
For every observed item ``e_i`` (the age included, when known), the posterior
of every condition given all the evidence, given all but ``e_i`` ("without")
and with ``e_i`` flipped (the other state of a two-state variable; for soft
evidence the likelihoods reversed, so a likelihood ratio ``r`` becomes
``1/r``; not defined for a variable with more than two states). Its
*likelihood ratio for the top condition T versus the runner-up R* is the
factor by which ``e_i`` multiplies their posterior odds, given the rest of
the evidence. The runner-up is the most probable *competitor* of T (see
:func:`competitors`): T's own causes and consequences, which can be present
with it (neuroblastoma and OMS), are not alternatives to it::

    LR_i = [P(T | e) / P(R | e)] / [P(T | e - e_i) / P(R | e - e_i)]
         = P(e_i | T, e - e_i) / P(e_i | R, e - e_i).

(posteriors clipped to ``[1e-15, 1 - 1e-15]`` as for the log-odds below, so
the ratio is finite and positive even when an item rules a condition out).

Value of information
--------------------
For each candidate finding or test ``X`` not yet observed, with ``x`` over its
states and ``p(x) = P(X = x | e)``:

``expected_entropy_reduction`` (bits)
    ``H(e) - sum_x p(x) H(e, x)``, where ``H`` is the sum over the conditions
    of their *binary* entropies, ``-p log2 p - (1 - p) log2 (1 - p)``. The
    conditions are not mutually exclusive (a child may have OMS and a
    neuroblastoma), so each is treated as its own yes/no question; the
    reduction is the sum of the mutual informations I(C; X | e) and is never
    negative.
``expected_abs_change_top``
    ``sum_x p(x) |P(T | e, x) - P(T | e)|`` for the current top condition T.
    (The expected *signed* change is 0: posteriors are a martingale.)
``p_top_changes``
    ``sum_x p(x) [top(e, x) != T]``: the probability that the result changes
    the top diagnosis.
``expected_log_odds_change``, ``expected_abs_log_odds_change``
    ``sum_x p(x) Δ_x`` and ``sum_x p(x) |Δ_x|``, with
    ``Δ_x = ln[P(T | e, x) / P(R | e, x)] - ln[P(T | e) / P(R | e)]`` for the
    current top T and runner-up R (natural logarithms; posteriors clipped to
    ``[1e-15, 1 - 1e-15]`` so that a result ruling a condition out gives a
    large finite change, never an infinity or NaN).

Candidates are ranked by expected entropy reduction (the myopic, one-step
value of information of Gorry and Barnett 1968, with the entropy criterion of
Heckerman, Horvitz and Nathwani 1992). Every expectation is computed exactly:
one batched engine run per candidate, one row per state.

References
----------
Gorry GA, Barnett GO. Experience with a model of sequential diagnosis.
Comput Biomed Res 1968;1(5):490-507.

Heckerman DE, Horvitz EJ, Nathwani BN. Toward normative expert systems:
Part I. The Pathfinder project. Methods Inf Med 1992;31(2):90-105.

Darwiche A. A differential approach to inference in Bayesian networks.
J ACM 2003;50(3):280-305.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import pandas as pd

from .errors import EvidenceError, did_you_mean
from .evidence import NormalizedEvidence, check_names
from .provenance import Provenance, provenance_of
from .scenarios import AnalysisResult, check_possible, condition_posteriors, describe

if TYPE_CHECKING:  # pragma: no cover
    from .model import DiagnosticModel

__all__ = [
    "EvidenceImpact",
    "ValueOfInformation",
    "evidence_impact",
    "value_of_information",
    "binary_entropy",
    "competitors",
]


def binary_entropy(p) -> np.ndarray:
    """``-p log2 p - (1 - p) log2 (1 - p)`` elementwise, with ``0 log 0 = 0``."""
    p = np.clip(np.asarray(p, dtype=float), 0.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -(np.where(p > 0, p * np.log2(p), 0.0) + np.where(p < 1, (1 - p) * np.log2(1 - p), 0.0))
    return h


#: Posteriors enter log-odds clipped to [LOG_ODDS_EPS, 1 - LOG_ODDS_EPS]: a result that rules a condition
#: out (posterior 0) gives a large finite change (about 34.5 nats) instead of an infinity or 0/0.
LOG_ODDS_EPS = 1e-15


def _log_odds(p: np.ndarray, top: int, runner: int) -> np.ndarray:
    """``ln[P(top) / P(runner)]`` with both posteriors clipped (see :data:`LOG_ODDS_EPS`); finite everywhere."""
    q = np.clip(np.nan_to_num(np.asarray(p, dtype=float), nan=0.0), LOG_ODDS_EPS, 1.0 - LOG_ODDS_EPS)
    return np.log(q[..., top]) - np.log(q[..., runner])


def _relatives(model: DiagnosticModel, condition: str) -> set[str]:
    """Every ancestor and descendant of ``condition`` in the model's graph."""
    children: dict[str, list[str]] = {}
    for name in model.variables:
        for parent in model.parents(name):
            children.setdefault(parent, []).append(name)
    out: set[str] = set()
    for step in (model.parents, lambda v: children.get(v, ())):
        stack = list(step(condition))
        while stack:
            v = stack.pop()
            if v not in out:
                out.add(v)
                stack.extend(step(v))
    return out


def competitors(model: DiagnosticModel, condition: str) -> list[str]:
    """The conditions that compete with ``condition`` as explanations of the findings.

    A condition's causes (its ancestors: neuroblastoma for OMS) and its
    consequences (its descendants among the conditions: OMS for
    neuroblastoma) can be present together with it; they are not alternative
    diagnoses. The competitors are every other condition, in
    :attr:`DiagnosticModel.conditions` order.

    Examples
    --------
    >>> import omsbayes
    >>> from omsbayes.information import competitors
    >>> model = omsbayes.load_model()
    >>> "neuroblastoma" in competitors(model, "oms"), "aca" in competitors(model, "oms")
    (False, True)
    """
    if condition not in model.conditions:
        raise EvidenceError(
            f"'{condition}' is not a condition of the model; the conditions are {model.conditions}."
            + did_you_mean(str(condition), model.conditions)
        )
    related = _relatives(model, condition)
    return [c for c in model.conditions if c != condition and c not in related]


def runner_up_index(model: DiagnosticModel, p: np.ndarray, top: int) -> int:
    """Index of the most probable competitor of condition ``top`` (see :func:`competitors`).

    When no condition competes with the top one (every other is its cause or
    consequence), the second-ranked condition.
    """
    conditions = model.conditions
    rivals = set(competitors(model, conditions[top]))
    order = [int(i) for i in np.argsort(-p, kind="stable") if int(i) != top]
    return next((i for i in order if conditions[i] in rivals), order[0])


def _top_two(model: DiagnosticModel, p: np.ndarray) -> tuple[int, int]:
    """The top condition and its runner-up: the most probable of its competitors."""
    top = int(np.argmax(p))
    return top, runner_up_index(model, p, top)


# ---------------------------------------------------------------------------
# evidence impact
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class EvidenceImpact(AnalysisResult):
    """What each observed item contributes to the diagnosis.

    Attributes
    ----------
    table : pandas.DataFrame
        Long: one row per (item, condition): ``item``, ``item_label``,
        ``observed``, ``condition``, ``label``, ``with`` (all evidence),
        ``without`` (all but this item), ``flipped`` (this item flipped; NaN
        when not defined).
    summary : pandas.DataFrame
        One row per item, sorted by ``|log10_lr|``: ``item``, ``item_label``,
        ``observed``, ``p_top_with``, ``p_top_without``, ``p_top_flipped``
        (posterior of the top condition), ``lr`` (likelihood ratio for the
        top condition versus the runner-up), ``log10_lr``.
    top, runner_up : str
        The top-ranked condition given all the evidence and its most probable
        competitor (not one of its causes or consequences; see :func:`competitors`).
    evidence : NormalizedEvidence
    provenance : Provenance

    See Also
    --------
    omsbayes.plotting.plot_evidence_impact
    """

    table: pd.DataFrame
    summary: pd.DataFrame
    top: str
    runner_up: str
    top_label: str
    runner_up_label: str
    evidence: NormalizedEvidence
    provenance: Provenance = field(repr=False)

    @property
    def title(self) -> str:
        return f"Evidence impact: {self.top_label} versus {self.runner_up_label}"

    _report_columns: ClassVar[tuple[str, ...]] = (
        "item_label", "observed", "p_top_with", "p_top_without", "p_top_flipped", "lr",
    )

    def _report_table(self) -> pd.DataFrame:
        return self.summary

    def _extra_dict(self) -> dict:
        from .scenarios import _records

        return {"top": self.top, "runner_up": self.runner_up, "summary": _records(self.summary)}

    def _repr_html_(self) -> str:
        import html

        from .scenarios import _format_float

        return (
            f"<div><p><b>{html.escape(self.title)}</b></p>"
            f"{self.summary.to_html(index=False, float_format=_format_float, na_rep='')}"
            f"<p style='font-size:smaller'>{html.escape(str(self.provenance))}</p></div>"
        )

    def plot(self, ax=None):
        """Waterfall-style bars of what each item does to the top condition (see :func:`omsbayes.plotting.plot_evidence_impact`)."""
        from .plotting import plot_evidence_impact

        return plot_evidence_impact(self, ax=ax)


def _without(evidence: NormalizedEvidence, item: str) -> NormalizedEvidence:
    hard = {k: v for k, v in evidence.hard.items() if k != item}
    soft = {k: v for k, v in evidence.soft.items() if k != item}
    is_age = item == "age"
    return NormalizedEvidence(
        hard=hard,
        soft=soft,
        age_years=None if is_age else evidence.age_years,
        age_bin=None if is_age else evidence.age_bin,
    )


def _flipped(model: DiagnosticModel, evidence: NormalizedEvidence, item: str) -> NormalizedEvidence | None:
    states = model.states(item)
    if len(states) != 2:
        return None
    hard, soft = dict(evidence.hard), dict(evidence.soft)
    if item in hard:
        hard[item] = states[1 - states.index(hard[item])]
    else:
        soft[item] = soft[item][::-1].copy()
    return NormalizedEvidence(hard=hard, soft=soft, age_years=evidence.age_years, age_bin=evidence.age_bin)


def evidence_impact(model: DiagnosticModel, evidence: Mapping | None, age: float | None = None) -> EvidenceImpact:
    """What each observed item contributes (see :meth:`DiagnosticModel.evidence_impact`)."""
    ev = model.normalize(evidence, age, what="evidence_impact")
    if not ev.observed:
        raise EvidenceError("evidence_impact needs at least one observed item; the evidence is empty.")
    conditions = model.conditions
    states = model.state_map
    full, log_z = condition_posteriors(model, ev.likelihoods(states))
    check_possible(model, ev, float(log_z[0]))
    full = full[0]
    top, runner = _top_two(model, full)
    rows, summary = [], []
    for item in ev.observed:
        without, _ = condition_posteriors(model, _without(ev, item).likelihoods(states))
        without = without[0]
        flipped_ev = _flipped(model, ev, item)
        flipped = np.full(len(conditions), np.nan)
        if flipped_ev is not None:
            post, lz = condition_posteriors(model, flipped_ev.likelihoods(states))
            if np.isfinite(lz[0]):
                flipped = post[0]
        observed = describe(ev, item)
        for j, cond in enumerate(conditions):
            rows.append(
                {
                    "item": item,
                    "item_label": model.label(item),
                    "observed": observed,
                    "condition": cond,
                    "label": model.label(cond),
                    "with": full[j],
                    "without": without[j],
                    "flipped": flipped[j],
                }
            )
        lr = float(np.exp(_log_odds(full, top, runner) - _log_odds(without, top, runner)))
        summary.append(
            {
                "item": item,
                "item_label": model.label(item),
                "observed": observed,
                "p_top_with": full[top],
                "p_top_without": without[top],
                "p_top_flipped": flipped[top],
                "lr": float(lr),
                "log10_lr": float((_log_odds(full, top, runner) - _log_odds(without, top, runner)) / np.log(10.0)),
            }
        )
    summary_frame = pd.DataFrame(summary)
    summary_frame = summary_frame.iloc[np.argsort(-np.abs(summary_frame["log10_lr"].to_numpy()), kind="stable")]
    return EvidenceImpact(
        table=pd.DataFrame(rows),
        summary=summary_frame.reset_index(drop=True),
        top=conditions[top],
        runner_up=conditions[runner],
        top_label=model.label(conditions[top]),
        runner_up_label=model.label(conditions[runner]),
        evidence=ev,
        provenance=provenance_of(model),
    )


# ---------------------------------------------------------------------------
# value of information
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class ValueOfInformation(AnalysisResult):
    """Which finding or test would change the diagnosis most ("which test next").

    Attributes
    ----------
    table : pandas.DataFrame
        One row per candidate, ranked by ``expected_entropy_reduction``:
        ``candidate``, ``label``, ``role``, ``expected_entropy_reduction``
        (bits), ``expected_abs_change_top``, ``p_top_changes``,
        ``expected_log_odds_change``, ``expected_abs_log_odds_change``,
        ``most_likely_result``, ``rank``.
    outcomes : pandas.DataFrame
        One row per (candidate, state): ``candidate``, ``state``,
        ``probability`` (P(X = x | evidence)), ``p_top`` (posterior of the
        current top condition after that result), ``top_after``,
        ``entropy_after`` (bits), ``log_odds_change``.
    posteriors : pandas.DataFrame
        Long: ``candidate``, ``state``, ``condition``, ``posterior`` after each
        result.
    top, runner_up : str
        The current top-ranked condition and its most probable competitor
        (see :func:`competitors`).
    entropy : float
        The current sum of binary entropies (bits).
    evidence : NormalizedEvidence
    provenance : Provenance

    See Also
    --------
    omsbayes.plotting.plot_value_of_information
    """

    table: pd.DataFrame
    outcomes: pd.DataFrame
    posteriors: pd.DataFrame
    top: str
    runner_up: str
    entropy: float
    evidence: NormalizedEvidence
    provenance: Provenance = field(repr=False)

    @property
    def title(self) -> str:
        return f"Value of information: which finding or test next (current top: {self.top})"

    _report_columns: ClassVar[tuple[str, ...]] = (
        "rank",
        "label",
        "role",
        "expected_entropy_reduction",
        "expected_abs_change_top",
        "p_top_changes",
        "expected_log_odds_change",
        "most_likely_result",
    )

    def _extra_dict(self) -> dict:
        from .scenarios import _records

        return {
            "top": self.top,
            "runner_up": self.runner_up,
            "entropy_bits": self.entropy,
            "outcomes": _records(self.outcomes),
        }

    def plot(self, ax=None, top: int = 12, measure: str = "expected_entropy_reduction"):
        """Bars of the ``top`` candidates by a measure (see :func:`omsbayes.plotting.plot_value_of_information`)."""
        from .plotting import plot_value_of_information

        return plot_value_of_information(self, ax=ax, top=top, measure=measure)


def _candidates(model: DiagnosticModel, ev: NormalizedEvidence, candidates: Sequence[str] | None) -> list[str]:
    if candidates is None:
        return [v for v in model.findings + model.tests if v not in ev.observed]
    candidates = check_names(candidates, "candidates", "value_of_information", allow_none=False)
    out = []
    for name in candidates:
        if name not in model.state_map:
            raise EvidenceError(
                f"Unknown candidate {name!r} for value_of_information."
                + did_you_mean(str(name), model.findings + model.tests + model.history + model.conditions)
            )
        if name in ev.observed:
            raise EvidenceError(
                f"The candidate '{name}' of value_of_information is already observed; remove it from the "
                "evidence or from the candidates."
            )
        if name == "age":
            raise EvidenceError("The age is not a test; give it with age= rather than as a candidate.")
        if name not in out:
            out.append(name)
    if not out:
        raise EvidenceError("value_of_information needs at least one candidate.")
    return out


def value_of_information(
    model: DiagnosticModel,
    evidence: Mapping | None = None,
    age: float | None = None,
    candidates: Sequence[str] | None = None,
) -> ValueOfInformation:
    """Rank unobserved findings and tests by what their result is expected to do (see :meth:`DiagnosticModel.value_of_information`)."""
    ev = model.normalize(evidence, age, what="value_of_information")
    names = _candidates(model, ev, candidates)
    conditions = model.conditions
    likelihoods = ev.likelihoods(model.state_map)
    base, log_z = condition_posteriors(model, likelihoods)
    check_possible(model, ev, float(log_z[0]))
    base = base[0]
    log_pe = float(log_z[0])
    top, runner = _top_two(model, base)
    h0 = float(binary_entropy(base).sum())
    log_odds0 = _log_odds(base, top, runner)

    rows, outcome_rows, post_rows = [], [], []
    for name in names:
        states = model.states(name)
        k = len(states)
        lk = dict(likelihoods)
        lk[name] = np.eye(k)
        post, lz = condition_posteriors(model, lk)
        with np.errstate(under="ignore"):
            prob = np.exp(lz - log_pe)
        prob = np.where(np.isfinite(lz), prob, 0.0)
        prob = prob / prob.sum()  # the states partition the evidence; removes rounding
        entropy_after = binary_entropy(post).sum(axis=1)
        top_after = np.argmax(post, axis=1)
        delta = _log_odds(post, top, runner) - log_odds0
        live = prob > 0
        w = prob[live]
        rows.append(
            {
                "candidate": name,
                "label": model.label(name),
                "role": model.role(name),
                "expected_entropy_reduction": h0 - float(w @ entropy_after[live]),
                "expected_abs_change_top": float(w @ np.abs(post[live, top] - base[top])),
                "p_top_changes": float(w @ (top_after[live] != top)),
                "expected_log_odds_change": float(w @ delta[live]),
                "expected_abs_log_odds_change": float(w @ np.abs(delta[live])),
                "most_likely_result": states[int(np.argmax(prob))],
            }
        )
        for i, state in enumerate(states):
            outcome_rows.append(
                {
                    "candidate": name,
                    "state": state,
                    "probability": float(prob[i]),
                    "p_top": float(post[i, top]) if live[i] else np.nan,
                    "top_after": conditions[int(top_after[i])] if live[i] else None,
                    "entropy_after": float(entropy_after[i]) if live[i] else np.nan,
                    "log_odds_change": float(delta[i]) if live[i] else np.nan,
                }
            )
            for j, cond in enumerate(conditions):
                post_rows.append(
                    {"candidate": name, "state": state, "condition": cond, "posterior": float(post[i, j]) if live[i] else np.nan}
                )
    table = pd.DataFrame(rows)
    order = np.lexsort((np.arange(len(table)), -table["p_top_changes"].to_numpy(), -table["expected_entropy_reduction"].to_numpy()))
    table = table.iloc[order].reset_index(drop=True)
    table["rank"] = np.arange(1, len(table) + 1)
    return ValueOfInformation(
        table=table,
        outcomes=pd.DataFrame(outcome_rows),
        posteriors=pd.DataFrame(post_rows),
        top=conditions[top],
        runner_up=conditions[runner],
        entropy=h0,
        evidence=ev,
        provenance=provenance_of(model),
    )
