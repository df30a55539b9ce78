"""Clinical settings: which reference class a query describes.

The network's priors are population incidences per person-year. Where a
patient is seen changes which conditions are likely before any finding is
known: a child brought to an emergency department with an unsteady gait is
not a random child. The model expresses this with *selection variables*
(``acute_presentation``, ``neurology_referral``): each condition has a
probability of bringing its patient to that setting, and the residual
"other cause" conditions stand for everyone else who comes. Choosing a
setting adds hard evidence on those variables, so that

    P(condition | age, setting) = P(setting | condition) P(condition | age) / P(setting | age)

by Bayes' rule, with no second set of priors to keep consistent.
``general_population`` adds nothing (the anchor facts of the literature,
such as P(OMS | neuroblastoma), are population figures and hold there).

With ``setting=None`` the model's default rule applies (see
:attr:`omsbayes.modelfile.DefaultSetting`): the acute setting of the
patient's age group, or the neurology referral when the onset is observed as
chronic. Evidence that already observes a selection variable is taken as it
is.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from .errors import EvidenceError, did_you_mean
from .modelfile import ModelSpec

__all__ = ["SETTING_KEY", "resolve_setting", "settings_frame", "with_setting"]

#: The evidence key that names a setting (not a variable).
SETTING_KEY = "setting"


def with_setting(evidence: Mapping | None, setting: str | None):
    """The evidence with ``setting`` added under :data:`SETTING_KEY` (unchanged when None)."""
    if setting is None or (evidence is not None and not isinstance(evidence, Mapping)):
        return evidence  # unchanged: normalize reports evidence that is not a mapping
    out = dict(evidence or {})
    given = out.get(SETTING_KEY)
    if given is not None and given != setting:
        raise EvidenceError(
            f"The setting is given twice, as {given!r} in the evidence and as setting={setting!r}; give it once."
        )
    out[SETTING_KEY] = setting
    return out


def selection_variables(spec: ModelSpec) -> tuple[str, ...]:
    """Variables observed by some setting that are not patient findings (where the patient is seen)."""
    return spec.selection


def resolve_setting(
    spec: ModelSpec,
    evidence: Mapping | None,
    age_bin: str | None,
    what: str = "diagnose",
) -> tuple[str | None, dict]:
    """Expand the setting of a query into evidence on the selection variables.

    Parameters
    ----------
    spec : ModelSpec
        The model description.
    evidence : mapping or None
        The user's evidence; may hold :data:`SETTING_KEY` -> a setting name.
    age_bin : str or None
        The query's age bin (None: unknown).
    what : str
        The calling function, for messages.

    Returns
    -------
    setting : str or None
        The setting applied (None for a model without settings, or when the
        evidence observes the selection variables itself).
    evidence : dict
        The evidence without :data:`SETTING_KEY` and with the setting's items.

    Raises
    ------
    EvidenceError
        Unknown setting (with a did-you-mean), a setting for other ages than
        the patient's, or evidence contradicting the setting.
    """
    ev = dict(evidence or {})
    name = ev.pop(SETTING_KEY, None)
    settings = spec.settings
    if not settings:
        if name is not None:
            raise EvidenceError(f"The 'setting' of {what}: model {spec.name!r} defines no settings; got {name!r}.")
        return None, ev
    if name is None:
        if any(v in ev for v in selection_variables(spec)):
            return None, ev
        name = default_setting(spec, ev, age_bin)
    if not isinstance(name, str) or name not in settings:
        raise EvidenceError(
            f"The 'setting' of {what} must be one of {sorted(settings)}; got {name!r}."
            + did_you_mean(str(name), settings)
        )
    setting = settings[name]
    if setting.ages and age_bin is not None and age_bin not in setting.ages:
        raise EvidenceError(
            f"The setting {name!r} is for the age bins {list(setting.ages)}; the patient is in {age_bin!r}. "
            f"Choose one of {sorted(s for s, spec_ in settings.items() if not spec_.ages or age_bin in spec_.ages)}."
        )
    for var, state in setting.evidence.items():
        if var in ev and ev[var] != state:
            raise EvidenceError(
                f"The setting {name!r} means {var}={state}, but the evidence gives {var}={ev[var]!r}; "
                "drop one of them."
            )
        ev[var] = state
    return name, ev


def default_setting(spec: ModelSpec, evidence: Mapping, age_bin: str | None) -> str:
    """The setting ``setting=None`` stands for, by the model's rule (see the module docstring)."""
    rule = spec.default_setting
    if rule.chronic_onset is not None and evidence.get("onset") == "chronic":
        return rule.chronic_onset
    if age_bin is None:
        return rule.age_unknown
    return rule.by_age[age_bin]


def settings_frame(spec: ModelSpec) -> pd.DataFrame:
    """One row per setting: label, description, evidence it adds, age bins, sources, and whether it is a default."""
    rule = spec.default_setting
    defaults = set(rule.by_age.values()) | {rule.age_unknown} | ({rule.chronic_onset} - {None}) if rule else set()
    rows = []
    for name, s in spec.settings.items():
        rows.append(
            {
                "setting": name,
                "label": s.label,
                "description": s.description,
                "evidence": ", ".join(f"{k}={v}" for k, v in s.evidence.items()) or "(none)",
                "ages": ", ".join(s.ages) if s.ages else "all",
                "default_for": _default_for(spec, name) if name in defaults else "",
                "sources": ", ".join(s.sources),
            }
        )
    return pd.DataFrame(rows).set_index("setting") if rows else pd.DataFrame()


def _default_for(spec: ModelSpec, name: str) -> str:
    rule = spec.default_setting
    parts = []
    bins = [b for b, s in rule.by_age.items() if s == name]
    if bins:
        parts.append("age " + ", ".join(bins))
    if rule.age_unknown == name:
        parts.append("age unknown")
    if rule.chronic_onset == name:
        parts.append("chronic onset")
    return "; ".join(parts)


def frame_with_settings(spec: ModelSpec, frame: pd.DataFrame, setting: str | None = None) -> pd.DataFrame:
    """A cohort frame with each row's setting written out as columns of the selection variables.

    Parameters
    ----------
    spec : ModelSpec
        The model description.
    frame : pandas.DataFrame
        One row per case (see :meth:`omsbayes.DiagnosticModel.diagnose_batch`);
        an optional ``setting`` column names each row's setting (empty: the
        default rule, or ``setting``).
    setting : str, optional
        The setting of rows that name none.

    Returns
    -------
    pandas.DataFrame
        ``frame`` itself for a model without settings, else a copy without the
        ``setting`` column and with the settings' evidence columns filled in.

    Raises
    ------
    EvidenceError
        As :func:`resolve_setting`, or for a row whose own columns contradict
        its setting; the message names the first such row.

    Notes
    -----
    Rows are grouped by what decides their setting (its name, the age bin,
    whether the onset is chronic, and the selection variables they give), so
    each distinct key is resolved once and its columns are assigned to the
    whole group; a 100,000-row cohort has a few dozen keys.
    """
    if not isinstance(frame, pd.DataFrame):
        return frame  # diagnose_batch says what it needs
    if not spec.settings:
        if setting is not None or SETTING_KEY in frame.columns:
            raise EvidenceError(f"diagnose_batch: model {spec.name!r} defines no settings; drop the setting.")
        return frame
    out = frame.copy()
    n = len(out)
    named = out.pop(SETTING_KEY).to_numpy(dtype=object) if SETTING_KEY in out.columns else np.full(n, None, dtype=object)
    named = np.where(pd.isna(named), setting, named)
    name_codes, names = _factorize(named)
    names = [v if isinstance(v, str) else None for v in names]  # as the row loop read them: not a name, no name
    name_codes = np.where(name_codes >= 0, name_codes, len(names))
    names.append(None)
    age_codes = _age_bins(spec, out)
    onset_codes, onsets = _factorize(_column(out, "onset"))
    chronic = np.array([isinstance(v, str) and v == "chronic" for v in onsets] + [False], dtype=bool)[onset_codes]
    given_vars = [v for v in spec.selection if v in out.columns]
    given = {v: _column(out, v) for v in given_vars}
    codes = np.stack([name_codes, age_codes, chronic.astype(np.intp)] + [_factorize(given[v])[0] for v in given_vars], axis=1)
    keys, first, group = np.unique(codes, axis=0, return_index=True, return_inverse=True)
    group = group.reshape(-1)
    members = np.split(np.argsort(group, kind="stable"), np.cumsum(np.bincount(group, minlength=len(keys)))[:-1])
    errors: list[tuple[int, str]] = []  # (row position, message): the first row of the frame is reported
    assign: dict[str, dict[str, list[np.ndarray]]] = {}  # variable -> state -> rows given it by their setting
    for number in range(len(keys)):
        row = int(first[number])
        ev = {v: given[v][row] for v in given_vars if not _is_na(given[v][row])}
        if chronic[row]:
            ev["onset"] = "chronic"
        if names[name_codes[row]] is not None:
            ev[SETTING_KEY] = names[name_codes[row]]
        try:
            _, expanded = resolve_setting(spec, ev, spec.age_states[age_codes[row]] if age_codes[row] >= 0 else None, "diagnose_batch")
        except EvidenceError as err:
            errors.append((row, str(err)))
            continue
        for var, state in expanded.items():
            if not (var in ev and ev[var] == state):  # else the row gives it already (its onset, selection variables)
                assign.setdefault(var, {}).setdefault(state, []).append(members[number])
    columns = {}
    for var, by_state in assign.items():
        current = _column(out, var)
        for state, parts in by_state.items():
            rows = np.sort(np.concatenate(parts))
            cells = current[rows]
            clash = np.flatnonzero(~pd.isna(cells))
            clash = clash[np.array([cells[i] != state for i in clash], dtype=bool)]
            if len(clash):
                row = int(rows[clash[0]])
                errors.append((row, f"its setting means {var}={state}, but the row gives {var}={current[row]!r}."))
            current[rows] = state
        columns[var] = current
    if errors:
        row, message = min(errors, key=lambda e: e[0])
        raise EvidenceError(f"Row {frame.index[row]!r}: {message}")
    for var, current in columns.items():
        out[var] = current  # object cells: states written into a numeric column stay as they are
    return out


def _is_na(value) -> bool:
    return value is None or (pd.api.types.is_scalar(value) and bool(pd.isna(value)))


def _column(frame: pd.DataFrame, name: str) -> np.ndarray:
    """A column's cells as a new object array (all None when the frame has no such column)."""
    if name not in frame.columns:
        return np.full(len(frame), None, dtype=object)
    return frame[name].to_numpy(dtype=object, copy=True)


def _factorize(values: np.ndarray) -> tuple[np.ndarray, list]:
    """Integer codes of an object array's distinct cells (-1 for missing ones) and the distinct cells."""
    try:
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        return codes, list(uniques)
    except TypeError:  # unhashable cells (encode_cohort reports them): each row its own key
        return np.arange(len(values)), list(values)


def _age_bins(spec: ModelSpec, frame: pd.DataFrame) -> np.ndarray:
    """Each row's age bin as its index in ``spec.age_states`` (-1: unknown, or invalid, which encode_cohort reports).

    An age is read as :func:`omsbayes.batch.encode_cohort` reads it: a number
    of years, a number written as text, or a bin's name; each distinct cell once.
    """
    from .evidence import age_to_bin

    codes, uniques = _factorize(_column(frame, "age"))
    bins = []
    for age in uniques:
        if isinstance(age, str):
            if age in spec.age_states:
                bins.append(spec.age_states.index(age))
                continue
            age = pd.to_numeric(age, errors="coerce")
        try:
            bins.append(spec.age_states.index(age_to_bin(age, spec.age_states, spec.age_bins_years, "diagnose_batch")))
        except EvidenceError:
            bins.append(-1)
    bins.append(-1)  # missing ages (code -1)
    return np.asarray(bins, dtype=np.intp)[codes]
