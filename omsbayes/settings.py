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
    """
    from .evidence import age_to_bin

    if not isinstance(frame, pd.DataFrame):
        return frame  # diagnose_batch says what it needs
    if not spec.settings:
        if setting is not None or SETTING_KEY in frame.columns:
            raise EvidenceError(f"diagnose_batch: model {spec.name!r} defines no settings; drop the setting.")
        return frame
    out = frame.copy()
    named = out.pop(SETTING_KEY) if SETTING_KEY in out.columns else pd.Series(None, index=out.index, dtype=object)
    named = named.astype(object).where(named.notna(), setting)
    ages = out["age"] if "age" in out.columns else pd.Series(None, index=out.index, dtype=object)
    onset = out["onset"] if "onset" in out.columns else pd.Series(None, index=out.index, dtype=object)
    keys = {}
    for idx, (name, age, on) in enumerate(zip(named.tolist(), ages.tolist(), onset.tolist())):
        on = on if isinstance(on, str) else None
        name = name if isinstance(name, str) else None
        age_bin = None
        if age is not None and not (pd.api.types.is_scalar(age) and pd.isna(age)):
            try:
                age_bin = age_to_bin(age, spec.age_states, spec.age_bins_years, "diagnose_batch")
            except EvidenceError:
                age_bin = None  # the batch checks ages itself, with the row named
        given = {v: out.iloc[idx][v] for v in spec.selection if v in out.columns and pd.notna(out.iloc[idx][v])}
        key = (name, age_bin, on == "chronic", tuple(sorted(given.items())))
        if key not in keys:
            ev = {**given, **({"onset": "chronic"} if on == "chronic" else {})}
            if name is not None:
                ev[SETTING_KEY] = name
            try:
                _, expanded = resolve_setting(spec, ev, age_bin, "diagnose_batch")
            except EvidenceError as err:
                raise EvidenceError(f"Row {frame.index[idx]!r}: {err}") from None
            keys[key] = {k: v for k, v in expanded.items() if k != "onset" or on != "chronic"}
        for var, state in keys[key].items():
            if var not in out.columns:
                out[var] = None
            current = out.iat[idx, out.columns.get_loc(var)]
            if pd.notna(current) and current != state:
                raise EvidenceError(
                    f"Row {frame.index[idx]!r}: its setting means {var}={state}, but the row gives {var}={current!r}."
                )
            out.iat[idx, out.columns.get_loc(var)] = state
    return out
