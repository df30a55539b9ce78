"""One-way sensitivity analysis: how far a posterior hangs on each parameter.

Every entry of every table of an omsbayes model is affine in each single
parameter, and every parameter feeds one table only (see
:mod:`omsbayes.tables`). The probability of the evidence, written as the
network polynomial of Darwiche (2003), is multilinear in the table entries,
so as one parameter ``t`` moves (all else fixed) both P(e) and
P(target = present, e) are *linear* in ``t``, and the posterior is a
linear-fractional function (Coupé and van der Gaag 2002)::

    f(t) = P(target | e)(t) = (a t + b) / (c t + d).

The four coefficients follow exactly from first derivatives at the current
value ``t0`` (no re-inference per parameter):

* ``dtheta/dt``, the change of every entry of the parameter's table per unit
  of ``t``, is a constant of the model (it does not depend on the evidence).
  It is computed once per model and cached, by building each table with its
  parameters at ``t = 0`` and ``t = 1`` in one batched build; the difference
  is exact up to rounding because the entries are affine (this is checked).
* ``d log P(e) / dtheta`` for every table entry comes from one backward pass
  of the compiled engine (:meth:`CompiledEngine.run` with ``gradients=True``),
  and ``d log P(c = present, e) / dtheta`` from one more pass per condition
  ``c`` with the condition clamped to ``present`` (twelve small runs).

With ``s_e = sum_k dlogP(e)/dtheta_k * dtheta_k/dt`` and ``s_c`` likewise for
P(c, e), and the coefficients normalised by P(e) at ``t0`` (so that
``c t0 + d = 1``)::

    c = s_e,           d = 1 - c t0,
    a = p0 s_c,        b = p0 - a t0,       p0 = P(c | e) at t0,
    f'(t0) = a d - b c = p0 (s_c - s_e).

Every condition's posterior is such a function with the same ``c`` and ``d``,
so two conditions swap places where their (linear) numerators cross: the
*rank-flip point* of a parameter is the nearest ``t`` to ``t0`` at which a
competing diagnosis overtakes the top-ranked condition (Chan and Darwiche 2002
study the same question: how far a parameter must move to change a decision).
The top condition's own causes and consequences (neuroblastoma for OMS) are
not competitors: they can be present with it, so their overtaking it changes
no diagnosis (the same rule picks the runner-up elsewhere).

Conventions
-----------
Co-variation
    A state of a categorical parameter (``onset.oms.acute``) moves with its
    sibling states rescaled in proportion, so that they still sum to one
    (proportional co-variation, Coupé and van der Gaag 2002), exactly as
    :meth:`DiagnosticModel.with_parameters` does (the rescaling is relative
    to the current values). In a two-state table the other state is the
    complement by construction.
Evidence
    Any evidence :meth:`DiagnosticModel.diagnose` accepts: hard states
    (negative findings are ``absent`` / ``negative``), a probability ``p``
    for a two-state variable (Pearl's virtual evidence with likelihoods
    ``(1 - p, p)``: the report is ``p / (1 - p)`` times as likely if the
    finding is present; it is not the finding's posterior), or likelihoods
    (:class:`~omsbayes.Likelihood`). Soft evidence on the target itself is
    allowed (its likelihood multiplies the clamped run); hard evidence on it
    is refused.
Derived parameters
    Parameters computed by a formula are frozen when the model loads; here
    they are parameters like any other (``t`` is their own value). A parameter
    that only feeds formulas (``oms.nb_fraction``) feeds no table: changing it
    alone changes nothing, so it is reported with derivative 0, no ``table``
    (missing) and a note, rather than dropped.
Barren tables
    Parameters of tables that cannot affect this query (outside the ancestors
    of the evidence and the conditions) have derivative exactly 0; the note
    says so.
Search range of rank flips
    All parameters are probabilities (rates are probabilities per
    person-year), so flips are searched in ``[0, 1]`` further restricted to
    the values for which the parameter's table stays a valid table (every
    entry in [0, 1]); that range is reported as ``domain_low`` and
    ``domain_high``. ``low`` and ``high`` are the parameter's 95% uncertainty
    interval (the literature range), used for ``posterior_low`` and
    ``posterior_high`` and for the swing that orders the table.

References
----------
Coupé VMH, van der Gaag LC. Properties of sensitivity analysis of Bayesian
belief networks. Ann Math Artif Intell 2002;36:323-356.

Darwiche A. A differential approach to inference in Bayesian networks.
J ACM 2003;50(3):280-305.

Chan H, Darwiche A. When do numbers really matter? J Artif Intell Res
2002;17:265-287.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import pandas as pd

from . import tables as _tables
from .errors import EvidenceError, ModelFileError, did_you_mean
from .evidence import NormalizedEvidence
from .information import competitors
from .provenance import Provenance, provenance_of
from .scenarios import AnalysisResult, check_possible

if TYPE_CHECKING:  # pragma: no cover
    from .model import DiagnosticModel

__all__ = ["Sensitivity", "sensitivity", "parameter_slopes", "check_target"]

_NOISE = 1e-15  # slopes below this are rounding noise, not a dependence on the parameter

NOTE_FORMULA = "feeds only formulas of derived parameters, which are frozen: changing it alone changes no table"
NOTE_BARREN = "its table cannot affect this query (not an ancestor of the evidence or the conditions)"


# ---------------------------------------------------------------------------
# d table / d parameter: a constant of the model
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class TableSlopes:
    """How one table moves with each of its parameters.

    Attributes
    ----------
    names : tuple of str
        The parameters feeding the table.
    slopes : numpy.ndarray
        ``(m, table.size)``: the change of every (flattened) entry per unit of
        each parameter, siblings of a categorical parameter co-varying.
    domain : numpy.ndarray
        ``(m, 2)``: the values in [0, 1] for which the table stays valid.
    """

    names: tuple[str, ...]
    slopes: np.ndarray
    domain: np.ndarray


_SLOPES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _perturbed(model: DiagnosticModel, name: str, t: float) -> dict[str, float]:
    """The values that change when ``name`` is set to ``t`` (siblings rescaled in proportion)."""
    values = model.values
    spec = model.spec.parameters[name]
    out = {name: t}
    if spec.group is not None:
        group = model.spec.groups[spec.group]
        siblings = [group.member(s) for s in group.states if group.member(s) != name]
        rest = sum(values[s] for s in siblings)
        for sib in siblings:
            out[sib] = values[sib] * (1.0 - t) / rest if rest > 0 else (1.0 - t) / len(siblings)
    return out


def parameter_slopes(model: DiagnosticModel, table: str) -> TableSlopes:
    """The derivative of a table with respect to each parameter feeding it (cached per model).

    Parameters
    ----------
    model : DiagnosticModel
    table : str
        A variable name.

    Returns
    -------
    TableSlopes

    Raises
    ------
    ModelFileError
        If a parameter does not enter its table affinely (a recipe that uses
        one parameter twice in a product); the sensitivity functions would not
        be exact.
    """
    cache = _SLOPES.setdefault(model, {})
    if table in cache:
        return cache[table]
    params = model.parameters
    names = tuple(params.index[params["table"] == table])
    current = model.tables[table]
    if not names:
        result = TableSlopes(names, np.zeros((0, current.size)), np.zeros((0, 2)))
        cache[table] = result
        return result
    values = model.values
    m = len(names)
    batched = {k: np.full(2 * m, v, dtype=float) for k, v in values.items()}
    for i, name in enumerate(names):
        for row, t in ((2 * i, 0.0), (2 * i + 1, 1.0)):
            for k, v in _perturbed(model, name, t).items():
                batched[k][row] = v
    built = _tables.build_table(model.spec, model.spec.variables[table], batched, model.references)
    flat = built.reshape(2 * m, -1)
    at0, at1 = flat[0::2], flat[1::2]
    slopes = at1 - at0
    t0 = np.array([values[n] for n in names])
    predicted = at0 + t0[:, None] * slopes
    worst = np.abs(predicted - current.reshape(1, -1)).max(axis=1)
    if np.any(worst > 1e-9):
        bad = names[int(np.argmax(worst))]
        raise ModelFileError(
            f"parameter '{bad}' does not enter the table of '{table}' affinely, so its sensitivity function "
            "would not be exact; use each parameter once per table entry."
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        pos, neg = slopes > _NOISE, slopes < -_NOISE
        low_cand = np.where(pos, -at0 / slopes, np.where(neg, (1.0 - at0) / slopes, -np.inf))
        high_cand = np.where(pos, (1.0 - at0) / slopes, np.where(neg, -at0 / slopes, np.inf))
    low = np.clip(low_cand.max(axis=1), 0.0, 1.0)
    high = np.clip(high_cand.min(axis=1), 0.0, 1.0)
    domain = np.stack([np.minimum(low, t0), np.maximum(high, t0)], axis=1) + 0.0  # no -0.0
    result = TableSlopes(names, slopes, domain)
    cache[table] = result
    return result


# ---------------------------------------------------------------------------
# the result
# ---------------------------------------------------------------------------
def _short_name(model: DiagnosticModel, variable: str) -> str:
    """How a variable reads inside a parameter's description: ``OMS`` for ``oms``, ``recent infection``."""
    label = model.label(variable)
    if label.lower() == variable:
        return label if label.isupper() else variable  # ADEM, but not "Age" mid-sentence
    if len(variable) <= 4 and variable.isalpha():
        return variable.upper()  # an acronym (oms, aca)
    return variable.replace("_", " ")


def readable_descriptions(model: DiagnosticModel, descriptions) -> list[str]:
    """Parameters' descriptions with the variable names in them made readable (``P(oms | x)`` -> ``P(OMS | x)``)."""
    import re

    names = sorted(model.variables, key=len, reverse=True)
    pattern = re.compile(r"\b(" + "|".join(re.escape(n) for n in names) + r")\b")
    short = {n: _short_name(model, n) for n in names}
    return [pattern.sub(lambda m: short[m.group(1)], str(text)) for text in descriptions]


#: Parameters shown by ``print(result)`` and the notebook display (the full table has all).
DISPLAY_ROWS = 15


def _more_note(rows: int, total: int) -> str:
    return (
        f"Showing the {rows} of {total} parameters with the largest swing; all of them: .table, "
        f".report(rows=None) or .html(rows=None) (command line: --top {total} or --json)."
    )


@dataclass(frozen=True)
class Sensitivity(AnalysisResult):
    """One-way sensitivity of P(target present | evidence) to every parameter.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per parameter, sorted by ``swing``: ``parameter``, ``means``,
        ``label`` (``means`` with variable names made readable, for plots),
        ``value`` (current), ``low``, ``high`` (95% uncertainty interval),
        ``a``, ``b``, ``c``, ``d`` (the sensitivity function
        ``f(t) = (a t + b) / (c t + d)``, normalised so that ``c t0 + d = 1``),
        ``derivative`` (``f'(t0)``), ``posterior`` (``f(t0)``),
        ``posterior_low``, ``posterior_high`` (``f`` at ``low`` and ``high``),
        ``swing`` (their absolute difference), ``rank_flip`` (the nearest value
        at which a competing diagnosis overtakes the top-ranked condition, NaN
        if none in the search range; the top condition's own causes and
        consequences, which can be present with it, are not competitors: see
        :func:`omsbayes.information.competitors`), ``rank_flip_to`` (that
        competitor),
        ``domain_low``, ``domain_high`` (the search range), ``table`` (the
        variable it feeds; missing for formula inputs), ``group`` (categorical
        parameter), ``covariation``, ``source`` and ``note``.
    functions : pandas.DataFrame
        Long: ``parameter``, ``condition``, ``a``, ``b``, ``c``, ``d`` for every
        condition (and the target), the basis of the rank flips.
    target : str
    target_label : str
    posterior : float
        P(target present | evidence) at the current values.
    top : str
        The top-ranked condition at the current values.
    evidence : NormalizedEvidence
    provenance : Provenance

    See Also
    --------
    omsbayes.plotting.plot_tornado
    """

    table: pd.DataFrame
    functions: pd.DataFrame
    target: str
    target_label: str
    posterior: float
    top: str
    evidence: NormalizedEvidence
    provenance: Provenance = field(repr=False)

    @property
    def title(self) -> str:
        return f"Sensitivity of P({self.target_label} | evidence) = {self.posterior:.4g} to each parameter"

    _report_columns: ClassVar[tuple[str, ...]] = (
        "parameter",
        "value",
        "low",
        "high",
        "posterior_low",
        "posterior_high",
        "derivative",
        "rank_flip",
        "rank_flip_to",
    )

    def _extra_dict(self) -> dict:
        return {"target": self.target, "posterior": self.posterior, "top": self.top}

    def report(self, rows: int | None = DISPLAY_ROWS) -> str:
        """Plain text: the ``rows`` parameters with the largest swing (default 15; ``rows=None``: all)."""
        text = super().report(rows=rows)
        hidden = len(self.table) - (len(self.table) if rows is None else min(rows, len(self.table)))
        if hidden > 0:
            head, _, tail = text.rpartition("\n\n[")
            text = f"{head}\n\n{_more_note(rows, len(self.table))}\n\n[{tail}"
        return text

    def _repr_html_(self, rows: int | None = DISPLAY_ROWS) -> str:
        import html

        from .scenarios import _format_float

        table = self.table[list(self._report_columns)]
        shown = table if rows is None else table.head(rows)
        note = f"<p>{html.escape(_more_note(rows, len(table)))}</p>" if len(shown) < len(table) else ""
        return (
            f"<div><p><b>{html.escape(self.title)}</b></p>"
            f"{shown.to_html(index=False, float_format=_format_float, na_rep='')}{note}"
            f"<p style='font-size:smaller'>{html.escape(str(self.provenance))}</p></div>"
        )

    def html(self, rows: int | None = DISPLAY_ROWS) -> str:
        """The notebook display as HTML, with ``rows`` parameters (``rows=None``: all of them)."""
        return self._repr_html_(rows=rows)

    def posterior_at(self, parameter: str, t, condition: str | None = None):
        """Evaluate a sensitivity function at ``t`` (a number or an array).

        Parameters
        ----------
        parameter : str
        t : float or array
            New value(s) of the parameter.
        condition : str, optional
            Default the target.

        Returns
        -------
        float or numpy.ndarray
            ``(a t + b) / (c t + d)``.
        """
        condition = self.target if condition is None else condition
        rows = self.functions[(self.functions["parameter"] == parameter) & (self.functions["condition"] == condition)]
        if rows.empty:
            raise EvidenceError(
                f"No sensitivity function for parameter {parameter!r} and condition {condition!r}."
                + did_you_mean(str(parameter), self.functions["parameter"].unique())
            )
        r = rows.iloc[0]
        t = np.asarray(t, dtype=float)
        value = (r["a"] * t + r["b"]) / (r["c"] * t + r["d"])
        return float(value) if value.ndim == 0 else value

    def plot(self, ax=None, top: int = 15):
        """Tornado plot of the ``top`` parameters by swing (see :func:`omsbayes.plotting.plot_tornado`)."""
        from .plotting import plot_tornado

        return plot_tornado(self, ax=ax, top=top)


# ---------------------------------------------------------------------------
# computation
# ---------------------------------------------------------------------------
def check_target(model: DiagnosticModel, target: str, evidence: NormalizedEvidence, what: str) -> str:
    """A two-state variable not observed as hard evidence; :class:`EvidenceError` otherwise."""
    if not isinstance(target, str) or target not in model.state_map:
        raise EvidenceError(
            f"The target {target!r} of {what} is not a variable of the model."
            + did_you_mean(str(target), model.conditions + [v for v in model.variables if v not in model.conditions])
        )
    states = model.states(target)
    if len(states) != 2:
        raise EvidenceError(
            f"The target of {what} must be a two-state variable (its second state is 'present'); "
            f"'{target}' has states {list(states)}."
        )
    if target in evidence.hard:
        raise EvidenceError(
            f"The target '{target}' of {what} is already observed ({target}={evidence.hard[target]}); remove it "
            "from the evidence to study its posterior."
        )
    return target


def _clamped_runs(model: DiagnosticModel, likelihoods, evidence: NormalizedEvidence, rows: list[str]):
    """log P(e), its gradients, and per row variable P(row present | e) with the gradients of log P(row, e).

    One batched engine run: row 0 is the evidence; row r adds the clamp
    ``rows[r-1] = present`` as a likelihood (0, 1), the other rows carry a
    neutral (1, 1) for that variable so that every row observes the same set.
    """
    clamped = [var for var in rows if var not in evidence.hard]
    batch = 1 + len(clamped)
    lk = dict(likelihoods)
    for r, var in enumerate(clamped, start=1):
        k = len(model.states(var))
        base = np.asarray(likelihoods.get(var, np.ones(k)), dtype=float)
        rowwise = np.tile(base, (batch, 1))
        rowwise[r, :-1] = 0.0  # clamp to the last state (present)
        lk[var] = rowwise
    result = model.engine.run(lk, [], gradients=True)
    log_pe = float(result.log_evidence[0])
    check_possible(model, evidence, log_pe)
    grads = [{k: v[0] for k, v in result.gradients.items()}]
    position = {var: r for r, var in enumerate(clamped, start=1)}
    probs = []
    for var in rows:
        if var in evidence.hard:
            present = evidence.hard[var] == model.states(var)[-1]
            probs.append(1.0 if present else 0.0)
            grads.append(grads[0] if present else {})
            continue
        r = position[var]
        log_p = float(result.log_evidence[r])
        if not np.isfinite(log_p):  # the evidence rules the condition out at the current values
            probs.append(0.0)
            grads.append({})
            continue
        probs.append(float(np.exp(log_p - log_pe)))
        grads.append({k: v[r] for k, v in result.gradients.items()})
    return np.array(probs), grads


def sensitivity(
    model: DiagnosticModel,
    evidence: Mapping | None = None,
    age: float | None = None,
    target: str = "oms",
) -> Sensitivity:
    """One-way sensitivity of P(target | evidence) to every parameter (see :meth:`DiagnosticModel.sensitivity`)."""
    ev = model.normalize(evidence, age, what="sensitivity")
    target = check_target(model, target, ev, "sensitivity")
    conditions = model.conditions
    rows = conditions + ([target] if target not in conditions else [])
    likelihoods = ev.likelihoods(model.state_map)
    probs, grads = _clamped_runs(model, likelihoods, ev, rows)

    params = model.parameters
    names = list(params.index)
    index = {n: i for i, n in enumerate(names)}
    n_rows = len(rows)
    slopes = np.zeros((n_rows + 1, len(names)))  # row 0: log P(e); row r: log P(rows[r-1], e)
    domain = np.tile([0.0, 1.0], (len(names), 1))
    relevant = set()
    touched = sorted({t for g in grads for t in g}, key=model.variables.index)
    for table in touched:
        ts = parameter_slopes(model, table)
        if not ts.names:
            continue
        cols = [index[n] for n in ts.names]
        size = ts.slopes.shape[1]
        stacked = np.stack([g[table].reshape(-1) if table in g else np.zeros(size) for g in grads])
        slopes[:, cols] = stacked @ ts.slopes.T
        relevant.add(table)
    for table in dict.fromkeys(t for t in params["table"] if t is not None and isinstance(t, str)):
        ts = parameter_slopes(model, table)
        for n, dom in zip(ts.names, ts.domain):
            domain[index[n]] = dom

    values = np.array([model.values[n] for n in names])
    c = slopes[0]
    d = 1.0 - c * values
    a_all = probs[:, None] * slopes[1:]  # (rows, params)
    b_all = probs[:, None] - a_all * values[None, :]

    t_row = rows.index(target)
    a, b = a_all[t_row], b_all[t_row]
    p0 = float(probs[t_row])
    derivative = a * d - b * c
    low = params["low"].to_numpy(dtype=float)
    high = params["high"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        post_low = (a * low + b) / (c * low + d)
        post_high = (a * high + b) / (c * high + d)

    n_cond = len(conditions)
    top_index = int(np.argmax(probs[:n_cond]))
    # only a competing diagnosis overtaking the top one is a flip: its own causes and consequences
    # (neuroblastoma for OMS) can be present with it, so their overtaking changes no diagnosis
    rivals = set(competitors(model, conditions[top_index]))
    rival_rows = np.array([name in rivals for name in conditions])
    flips, flip_index = _rank_flips(a_all[:n_cond], b_all[:n_cond], c, d, values, domain, top_index, rival_rows)
    flip_to = [None if i is None else conditions[i] for i in flip_index]

    notes, covariation = [], []
    # plain arrays: per-parameter pandas lookups would cost more than the analysis itself
    table_col, group_col, derived_col = (params[c].to_numpy(dtype=object) for c in ("table", "group", "derived"))
    for table, group, derived in zip(table_col, group_col, derived_col):
        note = []
        if not isinstance(table, str):
            note.append(NOTE_FORMULA)
        elif table not in relevant:
            note.append(NOTE_BARREN)
        if isinstance(derived, str):
            note.append("derived parameter, frozen at its formula's value; varied here on its own")
        notes.append("; ".join(note) or None)
        covariation.append(
            f"proportional: the other states of '{group}' are rescaled to sum to 1 - t" if isinstance(group, str) else None
        )
    table = pd.DataFrame(
        {
            "parameter": names,
            "means": params["means"].to_numpy(),
            "label": readable_descriptions(model, params["means"]),
            "value": values,
            "low": low,
            "high": high,
            "a": a,
            "b": b,
            "c": c,
            "d": d,
            "derivative": derivative,
            "posterior": np.full(len(names), p0),
            "posterior_low": post_low,
            "posterior_high": post_high,
            "swing": np.abs(post_high - post_low),
            "rank_flip": flips,
            "rank_flip_to": flip_to,
            "domain_low": domain[:, 0],
            "domain_high": domain[:, 1],
            "table": [t if isinstance(t, str) else None for t in params["table"]],
            "group": [g if isinstance(g, str) else None for g in params["group"]],
            "covariation": covariation,
            "source": params["source"].to_numpy(),
            "note": notes,
        }
    )
    order = np.lexsort((np.arange(len(names)), -np.abs(derivative), -table["swing"].to_numpy()))
    table = table.iloc[order].reset_index(drop=True)

    functions = pd.DataFrame(
        {
            "parameter": np.repeat(names, n_rows),
            "condition": rows * len(names),
            "a": a_all.T.reshape(-1),
            "b": b_all.T.reshape(-1),
            "c": np.repeat(c, n_rows),
            "d": np.repeat(d, n_rows),
        }
    )
    return Sensitivity(
        table=table,
        functions=functions,
        target=target,
        target_label=model.label(target),
        posterior=p0,
        top=conditions[top_index],
        evidence=ev,
        provenance=provenance_of(model),
    )


def _rank_flips(a, b, c, d, t0, domain, top: int, rivals: np.ndarray):
    """Nearest value of each parameter at which a rival overtakes the top condition, and that rival.

    All conditions share the denominator, so condition ``i`` overtakes the top
    one where their numerators cross: ``t* = -(b_top - b_i) / (a_top - a_i)``.
    Only rows where ``rivals`` is true (the top condition's competitors) can
    flip it. Crossings where the evidence becomes impossible (``c t* + d = 0``:
    every numerator is 0 there) are not flips.
    """
    n_cond, n_par = a.shape
    da = a[top][None, :] - a
    db = b[top][None, :] - b
    with np.errstate(divide="ignore", invalid="ignore"):
        cross = np.where(da != 0, -db / da, np.nan)
    cross[top] = np.nan
    cross[~rivals] = np.nan
    scale = np.maximum(1.0, np.abs(t0))[None, :]
    possible = (c[None, :] * cross + d[None, :]) > 1e-12
    inside = (
        (cross >= domain[:, 0][None, :])
        & (cross <= domain[:, 1][None, :])
        & (np.abs(cross - t0[None, :]) > 1e-12 * scale)
        & possible
    )
    distance = np.where(inside, np.abs(cross - t0[None, :]), np.inf)
    flips = np.full(n_par, np.nan)
    to: list[int | None] = [None] * n_par
    best = np.argmin(distance, axis=0)
    for j in range(n_par):
        if not np.isfinite(distance[best[j], j]):
            continue
        t_star = cross[best[j], j]
        flips[j] = t_star
        # who ranks first just beyond t*: the largest numerator there, ties broken by the slope outward
        direction = np.sign(t_star - t0[j])
        num = np.where(rivals, a[:, j] * t_star + b[:, j], -np.inf)
        tied = np.isclose(num, num.max(), rtol=1e-12, atol=0.0)
        outward = np.where(tied, a[:, j] * direction, -np.inf)
        to[j] = int(np.argmax(outward))
    return flips, to
