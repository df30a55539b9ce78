"""What-if scenarios and sweeps: posteriors when the inputs of a query change.

:func:`what_if` answers the same case under named scenarios (a finding
changed, dropped or added, a test result added, the age changed, a parameter
changed); the sweeps follow every condition's posterior along one axis:

``sweep_age``
    the age bins (one batched engine run, one row per bin);
``sweep_parameter``
    one parameter, or several scaled together (``neuroblastoma.incidence.*``
    times 0.1 to 10), re-inferred exactly at every point with the tables of
    :meth:`~omsbayes.DiagnosticModel.with_parameters` (one batched run);
``evidence_trajectory``
    the findings of a case added one at a time in a given order.

This module also holds the small query helpers the other analyses share
(:func:`condition_posteriors`, :func:`check_possible`) and the behaviour
common to their result objects (:class:`AnalysisResult`).

Posteriors here are those of :meth:`~omsbayes.DiagnosticModel.diagnose`: the
probability that each condition is present given the evidence, soft evidence
included (see :mod:`omsbayes.evidence`).
"""

from __future__ import annotations

import fnmatch
import html
import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

from .errors import EvidenceError, ModelFileError, did_you_mean
from .evidence import NormalizedEvidence, check_integer, check_names, is_missing
from .provenance import Provenance, provenance_of

if TYPE_CHECKING:  # pragma: no cover
    from .model import DiagnosticModel

__all__ = [
    "WhatIf",
    "Sweep",
    "AnalysisResult",
    "what_if",
    "sweep_age",
    "sweep_parameter",
    "evidence_trajectory",
    "condition_posteriors",
    "check_possible",
    "evidence_dict",
    "BASELINE",
]

#: Name of the unchanged case in :func:`what_if` tables.
BASELINE = "baseline"

#: Most points of one sweep: the result is a long table (points x conditions rows), so a
#: million points would take gigabytes; below this the work runs in chunks of bounded memory.
MAX_SWEEP_POINTS = 100_000

#: Largest size (bytes) of the tables built for one chunk of sweep points.
SWEEP_CHUNK_BYTES = 32 * 2**20


def _finite_numbers(values, name: str, what: str) -> np.ndarray:
    """A 1-d array of finite numbers (at most :data:`MAX_SWEEP_POINTS`), or :class:`EvidenceError`."""
    problem = None
    if isinstance(values, (str, bytes, Mapping)) or not hasattr(values, "__iter__"):
        problem = "a list"
    else:
        items = list(values)
        if not items:
            problem = "a non-empty list"
        elif len(items) > MAX_SWEEP_POINTS:
            raise EvidenceError(
                f"The '{name}' parameter of {what} gives {len(items):,} points; at most {MAX_SWEEP_POINTS:,} are "
                "allowed (the result has one row per point and condition). Sweep a coarser grid."
            )
        elif not all(isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_)) and math.isfinite(v) for v in items):
            problem = "finite numbers"
    if problem is not None:
        raise EvidenceError(f"The '{name}' parameter of {what} must be finite numbers (a list). Got {values!r} instead.")
    return np.asarray(items, dtype=float)


# ---------------------------------------------------------------------------
# helpers shared by the analyses
# ---------------------------------------------------------------------------
def condition_posteriors(
    model: DiagnosticModel,
    likelihoods: Mapping[str, np.ndarray],
    tables: Mapping[str, np.ndarray] | None = None,
    conditions: Sequence[str] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """P(condition present | evidence) for every row of a batch.

    Parameters
    ----------
    model : DiagnosticModel
    likelihoods : mapping
        Observed variable -> likelihood vector ``(k,)`` shared by every row, or
        ``(B, k)`` one per row (see :meth:`CompiledEngine.run`).
    tables : mapping, optional
        Tables with a leading batch axis (one set per row); default the model's.
    conditions : sequence of str, optional
        Default :attr:`DiagnosticModel.conditions`.

    Returns
    -------
    posteriors : numpy.ndarray
        ``(B, n_conditions)``: the probability of each condition's second state
        (``present``). A condition with evidence of its own gets its prior given
        the other evidence times its likelihood, renormalised (one-hot for hard
        evidence), as in :meth:`DiagnosticModel.diagnose`.
    log_evidence : numpy.ndarray
        ``(B,)``: natural log of P(evidence) per row (``-inf`` when impossible).
    """
    conditions = list(model.conditions if conditions is None else conditions)
    plain = [c for c in conditions if c not in likelihoods]
    result = model.engine.run(likelihoods, plain, tables=tables)
    log_z = np.asarray(result.log_evidence, dtype=float)
    out = np.zeros((log_z.shape[0], len(conditions)))
    for j, cond in enumerate(conditions):
        if cond in likelihoods and np.count_nonzero(likelihoods[cond]) == 1 and np.ndim(likelihoods[cond]) == 1:
            out[:, j] = float(np.asarray(likelihoods[cond])[-1] != 0)  # observed: its posterior is the observation
        elif cond in likelihoods:
            others = {k: v for k, v in likelihoods.items() if k != cond}
            prior = model.engine.run(others, [cond], tables=tables).marginals[cond]
            post = prior * np.asarray(likelihoods[cond], dtype=float)
            total = post.sum(axis=1)
            out[:, j] = np.divide(post[:, -1], total, out=np.zeros_like(total), where=total > 0)
        else:
            out[:, j] = result.marginals[cond][:, -1]
    return out, log_z


def evidence_mapping(evidence, what: str) -> dict:
    """The evidence as a plain dict (None: empty); :class:`EvidenceError` for anything but a mapping."""
    if evidence is None:
        return {}
    if not isinstance(evidence, Mapping):
        raise EvidenceError(
            f"The evidence of {what} must be a mapping of variable names to states, e.g. "
            f"{{'opsoclonus': 'present'}}. Got {type(evidence).__name__} instead."
        )
    return dict(evidence)


def check_possible(model: DiagnosticModel, evidence: NormalizedEvidence, log_evidence: float) -> None:
    """Raise the model's conflict error (naming the items) if the evidence has probability zero."""
    if not np.isfinite(log_evidence):
        from .engine import posterior_arrays

        posterior_arrays(model, [], evidence)  # raises EvidenceError naming a smallest conflicting set
        raise EvidenceError("The model gives this evidence probability zero.")  # pragma: no cover


def evidence_dict(evidence: NormalizedEvidence) -> dict[str, Any]:
    """The evidence as JSON-ready data: hard states, soft likelihood vectors as lists."""
    out: dict[str, Any] = dict(evidence.hard)
    out.update({k: [float(x) for x in v] for k, v in evidence.soft.items()})
    return out


def describe(evidence: NormalizedEvidence, variable: str) -> str:
    """How one variable was observed, for tables (``present`` or ``likelihoods (0.3, 0.7)``)."""
    if variable in evidence.hard:
        return evidence.hard[variable]
    vec = evidence.soft[variable]
    return "likelihoods (" + ", ".join(f"{x:g}" for x in vec) + ")"


def _format_float(x) -> str:
    """Four significant digits; probabilities just below 1 keep the digits that differ from 1."""
    if isinstance(x, (float, np.floating)):
        if np.isnan(x):
            return ""
        if 0.99 < x < 1.0:
            digits = min(12, 2 + math.ceil(-math.log10(1.0 - x)))
            return f"{x:.{digits}f}"
        return f"{x:.4g}"
    return str(x)


@dataclass(frozen=True)
class AnalysisResult:
    """Behaviour shared by the analysis results: a tidy ``table``, HTML and JSON.

    Subclasses set ``table`` (a pandas DataFrame), ``provenance`` and
    ``evidence``, and implement ``plot(ax=None)`` and ``title``.
    """

    #: Columns shown by :meth:`report` (None: all).
    _report_columns: ClassVar[tuple[str, ...] | None] = None

    def _extra_dict(self) -> dict:
        return {}

    @property
    def title(self) -> str:  # pragma: no cover - every subclass overrides it
        return type(self).__name__

    def _report_table(self) -> pd.DataFrame:
        return self.table  # type: ignore[attr-defined]

    def report(self, rows: int | None = None) -> str:
        """The result as plain text: title, the table (first ``rows`` rows), provenance."""
        table = self._report_table()
        if self._report_columns is not None:
            table = table[[c for c in self._report_columns if c in table.columns]]
        if rows is not None:
            table = table.head(rows)
        body = table.to_string(index=False, float_format=_format_float, na_rep="")
        return f"{self.title}\n\n{body}\n\n[{self.provenance}]\nResearch and teaching tool, not a medical device."  # type: ignore[attr-defined]

    def __str__(self) -> str:
        return self.report()

    def to_dict(self) -> dict:
        """A JSON-ready dict: what was computed, the table as records, the provenance."""
        out = {
            "analysis": type(self).__name__,
            "title": self.title,
            "evidence": evidence_dict(self.evidence),  # type: ignore[attr-defined]
            "age_years": self.evidence.age_years,  # type: ignore[attr-defined]
            "age_bin": self.evidence.age_bin,  # type: ignore[attr-defined]
        }
        out.update(self._extra_dict())
        out["table"] = _records(self.table)  # type: ignore[attr-defined]
        out["provenance"] = self.provenance.to_dict()  # type: ignore[attr-defined]
        return out

    def _repr_html_(self) -> str:
        table = self.table.to_html(float_format=_format_float, na_rep="")  # type: ignore[attr-defined]
        return (
            f"<div><p><b>{html.escape(self.title)}</b></p>{table}"
            f"<p style='font-size:smaller'>{html.escape(str(self.provenance))}</p></div>"  # type: ignore[attr-defined]
        )


def _records(frame: pd.DataFrame) -> list[dict]:
    records = frame.reset_index(drop=frame.index.name is None).to_dict(orient="records")
    out = []
    for row in records:
        clean = {}
        for k, v in row.items():
            if isinstance(v, (float, np.floating)) and not math.isfinite(float(v)):
                v = None
            elif v is pd.NA:
                v = None
            clean[str(k)] = v
        out.append(clean)
    return out


def _posterior_frame(model: DiagnosticModel, posteriors: np.ndarray, keys: pd.DataFrame) -> pd.DataFrame:
    """Long frame: each row of ``keys`` repeated per condition, with ``condition``, ``label``, ``posterior``."""
    conditions = model.conditions
    labels = [model.label(c) for c in conditions]
    n = len(conditions)
    frame = keys.loc[keys.index.repeat(n)].reset_index(drop=True)
    frame["condition"] = conditions * len(keys)
    frame["label"] = labels * len(keys)
    frame["posterior"] = np.asarray(posteriors, dtype=float).reshape(-1)
    return frame


# ---------------------------------------------------------------------------
# what-if
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class WhatIf(AnalysisResult):
    """Posteriors of every condition under named scenarios.

    Attributes
    ----------
    table : pandas.DataFrame
        Long: ``scenario``, ``condition``, ``label``, ``posterior``,
        ``baseline`` (the unchanged case), ``change`` (posterior - baseline),
        ``rank`` (within the scenario) and ``top`` (True for the scenario's
        first-ranked condition). The unchanged case is scenario ``"baseline"``.
    scenarios : pandas.DataFrame
        One row per scenario: ``scenario``, ``changes`` (what was changed,
        as text), ``top``, ``p_top``.
    evidence : NormalizedEvidence
        The baseline evidence.
    provenance : Provenance
    """

    table: pd.DataFrame
    scenarios: pd.DataFrame
    evidence: NormalizedEvidence
    provenance: Provenance = field(repr=False)

    @property
    def title(self) -> str:
        return f"What-if: {len(self.scenarios) - 1} scenario(s) against the baseline"

    def _extra_dict(self) -> dict:
        return {"scenarios": _records(self.scenarios)}

    def _report_table(self) -> pd.DataFrame:
        wide = self.table.pivot(index="label", columns="scenario", values="posterior")
        wide = wide[list(dict.fromkeys(self.table["scenario"]))]
        order = self.table[self.table["scenario"] == BASELINE].sort_values("rank")["label"]
        return wide.loc[list(order)].reset_index().rename(columns={"label": "condition"})

    def plot(self, ax=None, top: int = 6):
        """Grouped bars of the ``top`` conditions' posteriors per scenario (see :func:`omsbayes.plotting.plot_what_if`)."""
        from .plotting import plot_what_if

        return plot_what_if(self, ax=ax, top=top)


def _classify_changes(model: DiagnosticModel, name: str, changes: Mapping) -> tuple[dict, dict, tuple[bool, Any]]:
    """Split a scenario's changes into evidence, parameters and an age (given, value)."""
    if not isinstance(changes, Mapping):
        raise EvidenceError(
            f"Scenario {name!r} of what_if must be a mapping of variables or parameters to new values. "
            f"Got {type(changes).__name__} instead."
        )
    variables = model.state_map
    parameters = set(model.parameter_names)
    evidence, params = {}, {}
    age: tuple[bool, Any] = (False, None)
    for key, value in changes.items():
        if key == "age" and (value is None or (isinstance(value, numbers.Real) and not isinstance(value, bool))):
            age = (True, value)
        elif key in variables and key in parameters:  # pragma: no cover - the model files keep them apart
            raise EvidenceError(f"{key!r} in scenario {name!r} is both a variable and a parameter.")
        elif key in variables:
            evidence[key] = value
        elif key in parameters:
            params[key] = value
        else:
            raise EvidenceError(
                f"Scenario {name!r} of what_if changes {key!r}, which is neither a variable nor a parameter "
                "of the model." + did_you_mean(str(key), list(variables) + sorted(parameters))
            )
    return evidence, params, age


def _describe_changes(changes: Mapping) -> str:
    parts = []
    for key, value in changes.items():
        parts.append(f"{key} dropped" if value is None else f"{key}={value}")
    return ", ".join(parts) or "none"


def what_if(
    model: DiagnosticModel,
    evidence: Mapping | None,
    scenarios: Mapping[str, Mapping],
    age: float | None = None,
) -> WhatIf:
    """Posteriors of every condition under named changes of a case (see :meth:`DiagnosticModel.what_if`)."""
    base_evidence = evidence_mapping(evidence, "what_if")
    base_ev = model.normalize(base_evidence, age, what="what_if")
    if not isinstance(scenarios, Mapping):
        raise EvidenceError(
            "The scenarios of what_if must be a mapping of names to changes, e.g. "
            "{'no mass': {'abdominal_mass': None}}. Got " + type(scenarios).__name__ + " instead."
        )
    if BASELINE in scenarios:
        raise EvidenceError(f"The scenario name {BASELINE!r} is reserved for the unchanged case; choose another name.")
    rows = []
    posteriors = []
    base_post, log_z = condition_posteriors(model, base_ev.likelihoods(model.state_map))
    check_possible(model, base_ev, float(log_z[0]))
    posteriors.append(base_post[0])
    rows.append({"scenario": BASELINE, "changes": "none"})
    for name, changes in scenarios.items():
        ev_changes, param_changes, (age_given, new_age) = _classify_changes(model, str(name), changes)
        merged = {**base_evidence, **ev_changes}
        scenario_age = age
        if age_given:
            scenario_age = new_age
            merged.pop("age", None)
        elif "age" in ev_changes:
            scenario_age = None  # the age is given as a bin
        merged = {k: v for k, v in merged.items() if v is not None}
        ev = model.normalize(merged, scenario_age, what="what_if")
        scenario_model = model.with_parameters(param_changes) if param_changes else model
        post, lz = condition_posteriors(scenario_model, ev.likelihoods(model.state_map))
        check_possible(scenario_model, ev, float(lz[0]))
        posteriors.append(post[0])
        rows.append({"scenario": str(name), "changes": _describe_changes(changes)})
    keys = pd.DataFrame(rows)
    frame = _posterior_frame(model, np.array(posteriors), keys[["scenario"]])
    n = len(model.conditions)
    frame["baseline"] = np.tile(base_post[0], len(keys))
    frame["change"] = frame["posterior"] - frame["baseline"]
    frame["rank"] = frame.groupby("scenario", sort=False)["posterior"].rank(ascending=False, method="first").astype(int)
    frame["top"] = frame["rank"] == 1
    tops = frame[frame["top"]].set_index("scenario")
    keys["top"] = [tops.loc[s, "condition"] for s in keys["scenario"]]
    keys["p_top"] = [float(tops.loc[s, "posterior"]) for s in keys["scenario"]]
    assert len(frame) == n * len(keys)
    return WhatIf(table=frame, scenarios=keys, evidence=base_ev, provenance=provenance_of(model))


# ---------------------------------------------------------------------------
# sweeps
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Sweep(AnalysisResult):
    """Posterior of every condition along one axis (age, a parameter, or evidence added step by step).

    Attributes
    ----------
    table : pandas.DataFrame
        Long: one row per (point, condition) with ``condition``, ``label``,
        ``posterior`` and the columns describing the point (``x`` names the
        one to plot against).
    kind : str
        ``"age"``, ``"parameter"`` or ``"trajectory"``.
    x : str
        The column of ``table`` along which the sweep runs.
    xlabel : str
        Axis label for ``x``.
    log_x : bool
        True when ``x`` is best shown on a log scale (factors).
    evidence : NormalizedEvidence
    provenance : Provenance
    """

    table: pd.DataFrame
    kind: str
    x: str
    xlabel: str
    log_x: bool
    evidence: NormalizedEvidence
    provenance: Provenance = field(repr=False)

    @property
    def title(self) -> str:
        return {
            "age": "Posterior by age",
            "parameter": f"Posterior against {self.xlabel}",
            "trajectory": "Evidence trajectory: posteriors as findings are added",
        }[self.kind]

    def _extra_dict(self) -> dict:
        return {"kind": self.kind, "x": self.x, "xlabel": self.xlabel}

    def _report_table(self, top: int = 6) -> pd.DataFrame:
        best = self.table.groupby("condition", sort=False)["posterior"].max().sort_values(ascending=False, kind="stable")
        shown = list(best.index[:top])
        wide = self.wide()[shown]
        points = self.points
        describe_cols = [c for c in points.columns if c not in ("point", "parameters")]
        return pd.concat([points[describe_cols], wide.reset_index(drop=True)], axis=1)

    @property
    def points(self) -> pd.DataFrame:
        """One row per point of the sweep (the columns describing the point, without the posteriors)."""
        cols = [c for c in self.table.columns if c not in ("condition", "label", "posterior")]
        return self.table[cols].drop_duplicates("point").reset_index(drop=True)

    def wide(self) -> pd.DataFrame:
        """Point x condition posteriors (a convenience view of ``table``)."""
        return self.table.pivot(index="point", columns="condition", values="posterior")[
            list(dict.fromkeys(self.table["condition"]))
        ]

    def plot(self, ax=None, top: int = 6, conditions: Sequence[str] | None = None):
        """One line per condition along the sweep (see :func:`omsbayes.plotting.plot_sweep`)."""
        from .plotting import plot_sweep

        return plot_sweep(self, ax=ax, top=top, conditions=conditions)


def sweep_age(model: DiagnosticModel, evidence: Mapping | None = None, ages: Sequence[float] | None = None) -> Sweep:
    """Posterior of every condition in each age bin, or at given ages (see :meth:`DiagnosticModel.sweep_age`)."""
    evidence = evidence_mapping(evidence, "sweep_age")
    if "age" in evidence:
        raise EvidenceError("sweep_age varies the age itself; remove 'age' from the evidence.")
    ev = model.normalize(evidence, None, what="sweep_age")
    bins = list(model.age_states)
    lower = list(model.spec.age_bins_years)
    if ages is None:
        chosen = bins
        age_years = [float(x) for x in lower]
        x, xlabel = "age_bin", "age bin"
    else:
        from .evidence import age_to_bin

        if isinstance(ages, (str, bytes)) or not hasattr(ages, "__iter__"):
            raise EvidenceError(f"The 'ages' parameter of sweep_age must be a list of ages in years. Got {ages!r} instead.")
        ages = list(ages)
        if not ages or len(ages) > MAX_SWEEP_POINTS:
            raise EvidenceError(
                f"The 'ages' parameter of sweep_age must be a list of 1 to {MAX_SWEEP_POINTS:,} ages in years. "
                f"Got {len(ages):,}."
            )
        chosen = [age_to_bin(a, model.age_states, model.spec.age_bins_years, "sweep_age") for a in ages]
        age_years = [float(a) for a in ages]
        x, xlabel = "age_years", "age (years)"
    onehot = np.zeros((len(chosen), len(bins)))
    onehot[np.arange(len(chosen)), [bins.index(b) for b in chosen]] = 1.0
    likelihoods = ev.likelihoods(model.state_map)
    likelihoods["age"] = onehot
    post, log_z = condition_posteriors(model, likelihoods)
    for i, lz in enumerate(log_z):
        if not np.isfinite(lz):
            raise EvidenceError(
                f"The model gives this evidence probability zero at age bin {chosen[i]!r}; sweep_age cannot "
                "compare the ages."
            )
    keys = pd.DataFrame(
        {
            "point": np.arange(len(chosen)),
            "age_years": age_years,
            "age_bin": chosen,
            "age_label": [model.age_label(b) for b in chosen],
        }
    )
    frame = _posterior_frame(model, post, keys)
    return Sweep(frame, "age", x, xlabel, False, ev, provenance_of(model))


def resolve_parameters(model: DiagnosticModel, parameters: str | Sequence[str], what: str) -> list[str]:
    """Parameter names from a name, a list of names or a shell-style pattern (``neuroblastoma.incidence.*``)."""
    names = check_names(parameters, "parameters", what, allow_none=False)
    if not names:
        raise EvidenceError(f"{what} needs at least one parameter name.")
    out: list[str] = []
    known = model.parameter_names
    for name in names:
        if any(ch in str(name) for ch in "*?["):
            # a pattern matches the parameters that feed tables: formula inputs alone change nothing
            matched = [p for p in known if fnmatch.fnmatchcase(p, name) and model.table_of(p) is not None]
            if not matched:
                raise EvidenceError(
                    f"The pattern {name!r} of {what} matches no parameter that feeds a table of the model."
                )
            out.extend(m for m in matched if m not in out)
        elif name not in known:
            raise EvidenceError(f"Unknown parameter {name!r} in {what}." + did_you_mean(str(name), known))
        elif name not in out:
            out.append(name)
    return out


def sweep_parameter(
    model: DiagnosticModel,
    evidence: Mapping | None,
    parameters: str | Sequence[str],
    values: Sequence[float] | None = None,
    factors: Sequence[float] | None = None,
    age: float | None = None,
    points: int = 21,
) -> Sweep:
    """Posterior of every condition as parameters change (see :meth:`DiagnosticModel.sweep_parameter`)."""
    from . import tables as _tables
    from .model import _check_table

    names = resolve_parameters(model, parameters, "sweep_parameter")
    points = check_integer(points, "points", "sweep_parameter", minimum=2, maximum=MAX_SWEEP_POINTS)
    if values is not None:
        values = _finite_numbers(values, "values", "sweep_parameter")
    if factors is not None:
        factors = _finite_numbers(factors, "factors", "sweep_parameter")
    if values is not None and factors is not None:
        raise EvidenceError("Give sweep_parameter either values or factors, not both.")
    if values is not None and len(names) != 1:
        raise EvidenceError(
            f"values= sets one parameter, but {len(names)} were named ({', '.join(names)}); use factors= to "
            "scale several together."
        )
    current = model.values
    if values is None and factors is None:
        if len(names) == 1:
            row = model.parameters.loc[names[0]]
            values = np.linspace(float(row["low"]), float(row["high"]), points)
        else:
            factors = np.geomspace(0.1, 10.0, points)
    if values is not None:
        xs = np.asarray(values, dtype=float)
        settings = [{names[0]: float(v)} for v in xs]
        x, xlabel, log_x = "value", names[0], False
    else:
        xs = np.asarray(factors, dtype=float)
        settings = [{n: current[n] * float(f) for n in names} for f in xs]
        named = parameters if isinstance(parameters, str) else (names[0] if len(names) == 1 else f"{len(names)} parameters")
        x, xlabel = "factor", f"{named} (x current value)"
        log_x = True
    if xs.ndim != 1 or len(xs) == 0:
        raise EvidenceError("sweep_parameter needs a non-empty list of values or factors.")
    ev = model.normalize(evidence, age, what="sweep_parameter")
    likelihoods = ev.likelihoods(model.state_map)
    affected = [t for t in dict.fromkeys(model.table_of(n) for n in names) if t is not None]
    needed = [v for v in model.variables if v in model.engine.network.ancestors(set(likelihoods) | set(model.conditions))]
    batch = len(xs)
    groups = {model.spec.parameters[n].group for n in names} - {None}
    moved = set(names) | {model.spec.groups[g].member(st) for g in groups for st in model.spec.groups[g].states}
    # points in chunks: the tables of one chunk stay within SWEEP_CHUNK_BYTES, whatever the number of points
    per_point = 8 * sum(model.tables[v].size for v in needed)
    chunk = int(max(1, min(batch, SWEEP_CHUNK_BYTES // max(per_point, 1))))
    post = np.empty((batch, len(model.conditions)))
    log_z = np.empty(batch)
    for start in range(0, batch, chunk):
        stop = min(batch, start + chunk)
        size = stop - start
        swept = [model.with_parameters(s) for s in settings[start:stop]]
        tables = {v: np.broadcast_to(model.tables[v], (size,) + model.tables[v].shape) for v in needed}
        if affected:
            # only the swept parameters (and their group siblings) differ between points
            stacked = {k: np.full(size, v) for k, v in current.items()}
            for k in moved:
                stacked[k] = np.array([m.parameter_value(k) for m in swept])
            built = _tables.build_tables(model.spec, stacked, model.references, variables=affected)
            for var, cpt in built.items():
                for i in range(size):
                    try:
                        _check_table(model.spec, var, cpt[i])
                    except ModelFileError as exc:
                        raise EvidenceError(
                            f"At {x} {xs[start + i]:g} the sweep of {', '.join(names)} makes an invalid table: {exc.reason}"
                        ) from None
                if var in tables:
                    tables[var] = cpt
        post[start:stop], log_z[start:stop] = condition_posteriors(model, likelihoods, tables=tables)
    if not np.all(np.isfinite(log_z)):
        bad = xs[~np.isfinite(log_z)][0]
        raise EvidenceError(f"The model gives this evidence probability zero at {x} {bad:g}; the sweep stops there.")
    keys = pd.DataFrame({"point": np.arange(batch), x: xs})
    keys["parameters"] = ", ".join(names)
    if x == "factor":
        keys["value"] = [s[names[0]] for s in settings]
    frame = _posterior_frame(model, post, keys)
    return Sweep(frame, "parameter", x, xlabel, log_x, ev, provenance_of(model))


def evidence_trajectory(
    model: DiagnosticModel,
    evidence: Mapping,
    order: Sequence[str] | None = None,
    age: float | None = None,
) -> Sweep:
    """Posteriors as the evidence items are added one at a time (see :meth:`DiagnosticModel.evidence_trajectory`)."""
    evidence = {k: v for k, v in evidence_mapping(evidence, "evidence_trajectory").items() if not is_missing(v)}
    full = model.normalize(evidence, age, what="evidence_trajectory")
    if order is None:
        order = list(evidence)
    else:
        order = check_names(order, "order", "evidence_trajectory", allow_none=False)
        for item in order:
            if item not in evidence:
                raise EvidenceError(
                    f"The order of evidence_trajectory names {item!r}, which is not in the evidence."
                    + did_you_mean(str(item), list(evidence))
                )
        if len(set(order)) != len(order):
            raise EvidenceError("The order of evidence_trajectory names an item twice.")
        order += [k for k in evidence if k not in order]
    post, log_z = condition_posteriors(model, full.likelihoods(model.state_map))
    check_possible(model, full, float(log_z[0]))
    rows, posteriors = [], []
    for step in range(len(order) + 1):
        partial = {k: evidence[k] for k in order[:step]}
        ev = model.normalize(partial, age, what="evidence_trajectory")
        p, _ = condition_posteriors(model, ev.likelihoods(model.state_map))
        posteriors.append(p[0])
        if step == 0:
            rows.append({"point": 0, "item": None, "item_label": "age only" if age is not None else "no evidence", "observed": None})
        else:
            item = order[step - 1]
            rows.append(
                {
                    "point": step,
                    "item": item,
                    "item_label": model.label(item),
                    "observed": describe(full, item),
                }
            )
    keys = pd.DataFrame(rows)
    frame = _posterior_frame(model, np.array(posteriors), keys)
    return Sweep(frame, "trajectory", "point", "evidence added", False, full, provenance_of(model))
