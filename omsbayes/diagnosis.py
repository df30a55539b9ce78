"""The differential diagnosis of one case: posteriors, consensus criteria, must-not-miss note.

:func:`diagnose` computes; :class:`Diagnosis` holds the result and only draws
(``.plot``) or formats (``.table``, ``_repr_html_``, ``to_dict``).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .engine import cases_arrays, diagnosis_arrays, posterior_arrays, prior_arrays
from .evidence import NormalizedEvidence
from .provenance import Provenance, provenance_of

if TYPE_CHECKING:  # pragma: no cover
    from .model import DiagnosticModel

__all__ = [
    "Diagnosis",
    "ConsensusCriteria",
    "MustNotMiss",
    "diagnose",
    "consensus_criteria",
    "PROBABLE_OMS",
    "NEUROBLASTOMA_TESTS",
]

#: Posterior probability of OMS above which a child gets the must-not-miss note.
PROBABLE_OMS = 0.5
#: Above this posterior the note asks to confirm and stage the tumour rather than to find it.
LIKELY_NEUROBLASTOMA = 0.95

#: Tests that find a neuroblastoma, with a short description, most sensitive in OMS first.
NEUROBLASTOMA_TESTS = {
    "body_imaging_mass": "CT/MRI of neck, chest, abdomen and pelvis",
    "mibg_scan": "MIBG scintigraphy",
    "urine_catecholamines": "urine VMA/HVA",
}


# ---------------------------------------------------------------------------
# 2004 consensus criteria
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class ConsensusCriteria:
    """The 2004 (Genoa) consensus criteria for paediatric OMS: at least 3 of 4.

    Each criterion is ``True`` (met), ``False`` (excluded by the evidence) or
    ``None`` (not known).

    References
    ----------
    Matthay KK, Blaes F, Hero B, et al. Opsoclonus myoclonus syndrome in
    neuroblastoma: a report from a workshop on the dancing eyes syndrome at
    the advances in neuroblastoma meeting in Genoa, Italy, 2004. Cancer Lett
    2005;228(1-2):275-82.
    """

    opsoclonus: bool | None
    myoclonus_or_ataxia: bool | None
    behaviour_or_sleep: bool | None
    neuroblastoma: bool | None
    applies: bool

    CRITERIA = (
        ("opsoclonus", "opsoclonus"),
        ("myoclonus_or_ataxia", "myoclonus and/or ataxia"),
        ("behaviour_or_sleep", "behavioural change and/or sleep disturbance"),
        ("neuroblastoma", "neuroblastoma"),
    )

    @property
    def met(self) -> int:
        """Number of criteria met."""
        return sum(getattr(self, name) is True for name, _ in self.CRITERIA)

    @property
    def unknown(self) -> int:
        """Number of criteria not known from the evidence."""
        return sum(getattr(self, name) is None for name, _ in self.CRITERIA)

    @property
    def status(self) -> str:
        """``met``, ``cannot be met`` or ``not yet met (needs n more of the k not known)``."""
        if self.met >= 3:
            return "met"
        if self.met + self.unknown < 3:
            return "cannot be met"
        return f"not yet met (needs {3 - self.met} more of the {self.unknown} not known)"

    def _named(self, value: bool | None) -> list[str]:
        return [label for name, label in self.CRITERIA if getattr(self, name) is value]

    def summary(self) -> str:
        """One line, e.g. ``2004 consensus criteria (3 of 4 needed): met, 3 of 4 (opsoclonus, ...)``."""
        def listed(names: list[str]) -> str:
            return f" ({', '.join(names)})" if names else ""

        met, unknown, excluded = self._named(True), self._named(None), self._named(False)
        scope = "" if self.applies else " [paediatric criteria; the patient is an adult]"
        head = "2004 consensus criteria (3 of 4 needed): "
        if self.met >= 3:
            body = f"met, {self.met} of 4{listed(met)}"
        elif self.met + self.unknown < 3:
            body = f"cannot be met: {self.met} of 4 met{listed(met)}, {len(excluded)} ruled out{listed(excluded)}"
        else:
            body = (
                f"not yet met: {self.met} of 4 met{listed(met)}; {3 - self.met} more needed of the "
                f"{self.unknown} not known{listed(unknown)}"
            )
        return head + body + scope

    def to_dict(self) -> dict:
        out = {name: getattr(self, name) for name, _ in self.CRITERIA}
        out.update(met=self.met, unknown=self.unknown, status=self.status, applies=self.applies)
        return out


def _any_of(known: Mapping[str, str | bool], items: Mapping[str, str]) -> bool | None:
    """True if any (variable, positive state) holds; False if all are known otherwise; None else.

    ``known`` maps a variable to its observed state, or to True / False (in
    its second state or not) for a certain soft observation.
    """
    values = []
    for var, positive in items.items():
        if var not in known:
            values.append(None)
        elif isinstance(known[var], bool):
            values.append(known[var])
        else:
            values.append(known[var] == positive)
    if any(v is True for v in values):
        return True
    if all(v is False for v in values):
        return False
    return None


def _known(evidence: NormalizedEvidence) -> dict[str, str | bool]:
    """Hard evidence, plus soft evidence that is certain (a two-state likelihood with one zero)."""
    known: dict[str, str | bool] = dict(evidence.hard)
    for var, vec in evidence.soft.items():
        if len(vec) == 2 and np.count_nonzero(vec) == 1:
            known[var] = bool(vec[1] > 0)  # the second state (present / positive) is the only one possible
    return known


def consensus_criteria(evidence: NormalizedEvidence) -> ConsensusCriteria:
    """Evaluate the 2004 criteria on the evidence that is certain.

    Hard evidence and certain soft evidence (``opsoclonus=1.0``, a likelihood
    of zero for one state) count as known; other soft evidence counts as not
    known. The neuroblastoma criterion is met by ``neuroblastoma=present`` or
    by a positive test that finds the tumour (MIBG, body imaging, urine
    catecholamines), and excluded only by ``neuroblastoma=absent``.
    """
    known = _known(evidence)
    nb_known = _any_of(known, {"neuroblastoma": "present"})
    nb = None
    if nb_known is True or _any_of(known, {t: "positive" for t in NEUROBLASTOMA_TESTS}) is True:
        nb = True
    elif nb_known is False:
        nb = False
    age = evidence.age_years
    applies = (age is None and evidence.age_bin is None) or (
        evidence.age_bin in ("infant", "toddler", "child", "adolescent")
    )
    return ConsensusCriteria(
        opsoclonus=_any_of(known, {"opsoclonus": "present"}),
        myoclonus_or_ataxia=_any_of(known, {"myoclonus": "present", "ataxia": "present"}),
        behaviour_or_sleep=_any_of(known, {"irritability": "present", "sleep_disturbance": "present"}),
        neuroblastoma=nb,
        applies=applies,
    )


# ---------------------------------------------------------------------------
# must-not-miss note
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class MustNotMiss:
    """For a child with probable OMS: the chance of an occult neuroblastoma and the tests that find it.

    Attributes
    ----------
    p_oms, p_neuroblastoma : float
        Posteriors given the evidence.
    tests : pandas.DataFrame
        One row per neuroblastoma test not yet done: ``test``, ``description``,
        ``p_positive`` (probability the test is positive given the evidence),
        ``p_neuroblastoma_if_negative`` (what is left if it is negative).
    """

    p_oms: float
    p_neuroblastoma: float
    tests: pd.DataFrame

    @property
    def text(self) -> str:
        """The note as one paragraph."""
        head = f"MUST NOT MISS: probable OMS (P = {self.p_oms:.2f}) in a child."
        if self.p_neuroblastoma >= LIKELY_NEUROBLASTOMA:
            return (
                f"{head} A neuroblastoma is very likely (P = {self.p_neuroblastoma:.2f}): confirm and stage it "
                "(CT/MRI of neck, chest, abdomen and pelvis; MIBG scintigraphy)."
            )
        lines = [f"{head} Probability of an occult neuroblastoma: {self.p_neuroblastoma:.2f}."]
        if len(self.tests):
            parts = [
                f"{row.description} (positive with probability {row.p_positive:.2f}; if negative, "
                f"P(neuroblastoma) would be {row.p_neuroblastoma_if_negative:.2f})"
                for row in self.tests.itertuples()
            ]
            lines.append("Tests that would find it: " + "; ".join(parts) + ".")
        else:
            lines.append(
                "All three tumour tests are reported negative or done; OMS-associated tumours can be small, "
                "so repeat imaging if the course is atypical."
            )
        return " ".join(lines)

    def to_dict(self) -> dict:
        return {
            "p_oms": self.p_oms,
            "p_neuroblastoma": self.p_neuroblastoma,
            "tests": self.tests.to_dict(orient="records"),
            "text": self.text,
        }


def _must_not_miss(model: DiagnosticModel, evidence: NormalizedEvidence, posterior: pd.Series) -> MustNotMiss | None:
    child = evidence.age_bin in (None, "infant", "toddler", "child", "adolescent")
    if not child or posterior.get("oms", 0.0) < PROBABLE_OMS or "neuroblastoma" in evidence.hard:
        return None
    # the case, then the case with each test not yet done negative: one engine run for all
    todo = [t for t in NEUROBLASTOMA_TESTS if t not in evidence.hard and t not in evidence.soft and t in model.state_map]
    negatives = [
        NormalizedEvidence(
            hard={**evidence.hard, t: model.states(t)[0]}, soft=evidence.soft, age_years=evidence.age_years, age_bin=evidence.age_bin
        )
        for t in todo
    ]
    after, log_pe = cases_arrays(model, [evidence, *negatives], ["neuroblastoma"])
    columns = {
        "test": todo,
        "description": [NEUROBLASTOMA_TESTS[t] for t in todo],
        "p_positive": -np.expm1(log_pe[1:] - log_pe[0]),  # 1 - P(e, negative) / P(e)
        "p_neuroblastoma_if_negative": after["neuroblastoma"][1:, 1],
    }
    tests = pd.DataFrame(columns)
    return MustNotMiss(float(posterior["oms"]), float(posterior["neuroblastoma"]), tests)


# ---------------------------------------------------------------------------
# the result
# ---------------------------------------------------------------------------
#: The last line of every report and display.
NOT_A_DEVICE = "Research and teaching tool, not a medical device."
#: Printed under the table: what the prior column is.
PRIOR_MEANING = (
    "prior = P(condition | age and clinical setting), before any finding or test; posterior = given all the evidence."
)


def probability_text(p: float) -> str:
    """A probability for tables: 4 decimals, scientific below 0.001, and never rounded to 0 or 1 unless it is.

    ``2.8e-05`` stays ``2.80e-05`` (not ``0.0000``) and ``0.99995`` stays
    ``0.99995`` (not ``1.0000``).
    """
    import math

    p = float(p)
    if not math.isfinite(p):
        return ""
    if p in (0.0, 1.0):
        return f"{p:.0f}"
    if p < 1e-3:
        return f"{p:.2e}"
    if 1.0 - p < 1e-4:
        decimals = min(12, 1 - math.floor(math.log10(1.0 - p)))  # enough digits to show how far from 1
        return f"{p:.{decimals}f}"
    return f"{p:.4f}"


@dataclass(frozen=True)
class Diagnosis:
    """The posterior differential diagnosis of one case.

    Attributes
    ----------
    posterior : pandas.Series
        Every condition -> P(present | evidence, age).
    prior : pandas.Series
        Every condition -> P(present | age) (age only; the population when
        the age is unknown).
    labels : pandas.Series
        Human labels of the conditions.
    evidence : NormalizedEvidence
        The checked evidence.
    criteria : ConsensusCriteria
        The 2004 consensus criteria on this evidence.
    must_not_miss : MustNotMiss or None
        For a child with probable OMS and no known neuroblastoma.
    log_evidence : float
        Natural log of P(evidence | age) under the model.
    provenance : Provenance
        Model and software versions.
    no_listed_condition : float or None
        P(none of the ranked conditions is present | evidence): the findings
        come from a cause outside the model (None for a model without
        residual conditions).
    residual : pandas.Series or None
        P(present | evidence) of each residual "other cause" condition.
    """

    posterior: pd.Series
    prior: pd.Series
    labels: pd.Series
    evidence: NormalizedEvidence
    criteria: ConsensusCriteria
    must_not_miss: MustNotMiss | None
    log_evidence: float
    provenance: Provenance = field(repr=False)
    no_listed_condition: float | None = None
    residual: pd.Series | None = field(default=None, repr=False)

    def _residual_line(self) -> str | None:
        """``No listed condition: 12% (other acute cause 11%, ...)``, or None without residual conditions."""
        if self.no_listed_condition is None:
            return None
        parts = ", ".join(f"{label.split(' (')[0].lower()} {probability_text(p)}" for label, p in self.residual.items())
        return f"No listed condition (a cause outside the model): {probability_text(self.no_listed_condition)}" + (
            f" ({parts})" if parts else ""
        )

    @property
    def table(self) -> pd.DataFrame:
        """Ranked table: ``label``, ``prior``, ``posterior``, ``ratio`` (posterior/prior), ``rank``."""
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = self.posterior / self.prior
        frame = pd.DataFrame(
            {"label": self.labels, "prior": self.prior, "posterior": self.posterior, "ratio": ratio}
        )
        frame = frame.sort_values("posterior", ascending=False, kind="stable")
        frame["rank"] = np.arange(1, len(frame) + 1)
        frame.index.name = "condition"
        return frame

    @property
    def top(self) -> str:
        """The condition with the highest posterior."""
        return str(self.posterior.idxmax())

    def plot(self, ax=None, top: int | None = None, xscale: str = "auto"):
        """Prior vs posterior horizontal bars; returns the Axes (see :func:`omsbayes.plotting.plot_diagnosis`)."""
        from .plotting import plot_diagnosis

        return plot_diagnosis(self, ax=ax, top=top, xscale=xscale)

    def to_dict(self) -> dict:
        """A JSON-ready dict of the whole result."""
        table = self.table
        return {
            "age_years": self.evidence.age_years,
            "age_bin": self.evidence.age_bin,
            "evidence": {k: v for k, v in self.evidence.hard.items()}
            | {k: [float(x) for x in v] for k, v in self.evidence.soft.items()},
            "differential": [
                {
                    "condition": name,
                    "label": row["label"],
                    "prior": float(row["prior"]),
                    "posterior": float(row["posterior"]),
                    "ratio": float(row["ratio"]) if np.isfinite(row["ratio"]) else None,
                    "rank": int(row["rank"]),
                }
                for name, row in table.iterrows()
            ],
            "consensus_criteria": self.criteria.to_dict(),
            "must_not_miss": None if self.must_not_miss is None else self.must_not_miss.to_dict(),
            "no_listed_condition": self.no_listed_condition,
            "residual": None if self.residual is None else {k: float(v) for k, v in self.residual.items()},
            "log_evidence": self.log_evidence,
            "provenance": self.provenance.to_dict(),
        }

    def report(self) -> str:
        """The ranked differential as plain text (what the CLI prints)."""
        table = self.table
        lines = [*self._header(), ""]
        width = max(len(str(x)) for x in table["label"])
        lines.append(f"{'rank':>4}  {'condition':<{width}}  {'prior':>9}  {'posterior':>9}")
        for _, row in table.iterrows():
            prior, posterior = probability_text(row["prior"]), probability_text(row["posterior"])
            lines.append(f"{row['rank']:>4}  {row['label']:<{width}}  {prior:>9}  {posterior:>9}")
        if self._residual_line() is not None:
            lines.append(self._residual_line())
        lines.append(PRIOR_MEANING)
        lines.append("")
        lines.append(self.criteria.summary())
        if self.must_not_miss is not None:
            lines.append(self.must_not_miss.text)
        lines.append(f"[{self.provenance}]")
        lines.append(NOT_A_DEVICE)
        return "\n".join(lines)

    def _header(self) -> list[str]:
        """The age and evidence lines that open the report and the notebook display."""
        age = "unknown" if self.evidence.age_bin is None else (
            f"{self.evidence.age_years:g} years ({self.evidence.age_bin})"
            if self.evidence.age_years is not None
            else self.evidence.age_bin
        )
        items = ", ".join(_describe_item(self.evidence, k) for k in self.evidence.observed if k != "age") or "none"
        lines = [f"Age: {age}", f"Evidence: {items}"]
        if self.evidence.setting is not None:
            lines.append(f"Setting: {self.evidence.setting}")
        return lines

    def __str__(self) -> str:
        return self.report()

    def _repr_html_(self) -> str:
        import html

        table = self.table.copy()
        table["prior"] = table["prior"].map(probability_text)
        table["posterior"] = table["posterior"].map(probability_text)
        table["ratio"] = table["ratio"].map(lambda r: f"{r:,.1f}" if np.isfinite(r) else "")
        note = f"<p><b>{html.escape(self.must_not_miss.text)}</b></p>" if self.must_not_miss is not None else ""
        head = "".join(f"<p>{html.escape(line)}</p>" for line in self._header())
        return (
            f"<div>{head}<p>{html.escape(self.criteria.summary())}</p>{note}{table.to_html()}"
            + (f"<p>{html.escape(self._residual_line())}</p>" if self._residual_line() is not None else "")
            + ""
            f"<p style='font-size:smaller'>{html.escape(PRIOR_MEANING)}</p>"
            f"<p style='font-size:smaller'>{html.escape(str(self.provenance))}<br>{NOT_A_DEVICE}</p></div>"
        )


def _no_listed_condition(
    model: DiagnosticModel, ev: NormalizedEvidence, log_pe: float, arrays, none: float | None = None
) -> tuple[float, pd.Series]:
    """P(every ranked condition absent | e) = P(e, all absent) / P(e), and each residual's posterior.

    ``none``, where given, is that probability from the run that gave ``arrays``.
    """
    residuals = model.residual_conditions
    residual = pd.Series(
        np.array([arrays[r][1] for r in residuals], dtype=float),
        index=_condition_index(tuple(model.label(r) for r in residuals)),
        name="posterior",
    )
    if any(ev.hard.get(c) == "present" for c in model.conditions):
        return 0.0, residual
    if none is not None:
        return none, residual
    hard = {**ev.hard, **{c: "absent" for c in model.conditions}}
    none_ev = NormalizedEvidence(
        hard=hard,
        soft={k: v for k, v in ev.soft.items() if k not in hard},
        age_years=ev.age_years,
        age_bin=ev.age_bin,
        setting=ev.setting,
    )
    _, log_none = posterior_arrays(model, model.residual_conditions, none_ev)
    return float(min(1.0, np.exp(log_none - log_pe))) if np.isfinite(log_none) else 0.0, residual


def _describe_item(evidence: NormalizedEvidence, name: str) -> str:
    """One evidence item as it can be written back: ``opsoclonus=present``, ``ataxia~0.7 (...)``, ``fever=lr:2.33``."""
    if name in evidence.hard:
        return f"{name}={evidence.hard[name]}"
    vec = evidence.soft[name]
    targets = getattr(evidence, "targets", {})
    if len(vec) == 2 and vec[0] > 0:
        lr = vec[1] / vec[0]
        if name in targets:
            return f"{name}~{targets[name]:g} (likelihood ratio {lr:.3g})"
        return f"{name}=lr:{lr:.3g}"
    return f"{name}=likelihoods " + ":".join(f"{x:g}" for x in vec)


@functools.lru_cache(maxsize=16)
def _condition_index(conditions: tuple[str, ...]) -> pd.Index:
    """The index of a diagnosis' Series, built once per list of conditions (an Index of strings takes ~50 us)."""
    return pd.Index(conditions)


@functools.lru_cache(maxsize=16)
def _labels(conditions: tuple[str, ...], labels: tuple[str, ...]) -> pd.Series:
    """The labels Series, built once (a Series of strings takes a few hundred microseconds); callers copy it."""
    return pd.Series(list(labels), index=_condition_index(conditions), name="label")


def diagnose(model: DiagnosticModel, evidence: Mapping | None, age: float | None) -> Diagnosis:
    """Compute a :class:`Diagnosis` (see :meth:`DiagnosticModel.diagnose`)."""
    ev = model.normalize(evidence, age, what="diagnose")
    conditions = model.conditions
    residuals = model.residual_conditions
    arrays, log_pe, none = diagnosis_arrays(model, conditions + residuals, ev)
    index = _condition_index(tuple(conditions))
    posterior = pd.Series([float(arrays[c][1]) for c in conditions], index=index, name="posterior")
    # the prior is P(condition | age, setting): before any finding, in the reference class of the query
    setting_items = model.spec.settings[ev.setting].evidence if ev.setting is not None else {}
    prior_ev = NormalizedEvidence(
        hard={**({"age": ev.age_bin} if ev.age_bin is not None else {}), **setting_items},
        soft={"age": ev.soft["age"]} if "age" in ev.soft else {},
        age_years=ev.age_years,
        age_bin=ev.age_bin,
        setting=ev.setting,
    )
    prior_of, _ = prior_arrays(model, conditions, prior_ev)
    prior = pd.Series([float(prior_of[c][1]) for c in conditions], index=index, name="prior")
    labels = _labels(tuple(conditions), tuple(model.label(c) for c in conditions)).copy()
    no_listed, residual = _no_listed_condition(model, ev, log_pe, arrays, none) if residuals else (None, None)
    return Diagnosis(
        no_listed_condition=no_listed,
        residual=residual,
        posterior=posterior,
        prior=prior,
        labels=labels,
        evidence=ev,
        criteria=consensus_criteria(ev),
        must_not_miss=_must_not_miss(model, ev, posterior),
        log_evidence=log_pe,
        provenance=provenance_of(model),
    )
