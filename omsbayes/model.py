"""The diagnostic model: variables, named parameters with provenance, tables.

A :class:`DiagnosticModel` is immutable. :meth:`DiagnosticModel.with_parameters`
returns a new model; the tables are built lazily and cached.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from . import tables as _tables
from .errors import EvidenceError, ModelFileError, did_you_mean
from .evidence import NormalizedEvidence, normalize_evidence
from .modelfile import EXPERT, ModelSpec, evaluate_formula, formula_inputs, read_model, recipe_parameters
from .paths import default_model_path
from .settings import with_setting

if TYPE_CHECKING:  # pragma: no cover
    from .diagnosis import Diagnosis
    from .information import EvidenceImpact, ValueOfInformation
    from .scenarios import Sweep, WhatIf
    from .sensitivity import Sensitivity
    from .uncertainty import Uncertainty

__all__ = ["DiagnosticModel", "load_model"]

#: The conditions reported by :meth:`DiagnosticModel.diagnose`, in vocabulary order.
VOCABULARY_CONDITIONS = (
    "oms",
    "neuroblastoma",
    "systemic_cancer",
    "aca",
    "cerebellitis",
    "adem",
    "posterior_fossa_tumor",
    "intoxication",
    "miller_fisher",
    "cerebellar_stroke",
    "seizure_disorder",
    "spinocerebellar_ataxia",
)


def load_model(path: str | Path | None = None) -> DiagnosticModel:
    """Load a model from its directory or ``model.yaml`` (default: the bundled OMS model).

    Parameters
    ----------
    path : str or Path, optional
        A model directory or its ``model.yaml``. Without it, the default model
        shipped with omsbayes (``models/oms_ddx``).

    Returns
    -------
    DiagnosticModel

    Raises
    ------
    ModelFileError
        When a file is missing, not YAML, or inconsistent (with file and line).

    Examples
    --------
    >>> import omsbayes
    >>> model = omsbayes.load_model()
    >>> model.name
    'oms_ddx'
    """
    spec = read_model(default_model_path() if path is None else path)
    return DiagnosticModel(spec)


class DiagnosticModel:
    """A Bayesian network for the differential diagnosis of OMS, built from a model file.

    Parameters
    ----------
    spec : ModelSpec
        The checked model description (see :func:`load_model`).
    overrides : mapping, optional
        Parameter values replacing those of the file (see :meth:`with_parameters`).
    """

    def __init__(self, spec: ModelSpec, overrides: Mapping[str, float] | None = None, _refs=None, _base=None):
        self._spec = spec
        base = _base if _base is not None else _file_values(spec)
        values = dict(base)
        if overrides:
            values.update(_apply_overrides(spec, base, overrides))
        self._values = values
        self._overrides = dict(overrides or {})
        # Reference prevalences are frozen at the file's values (see tables.py).
        self._refs = _refs if _refs is not None else _tables.reference_prevalences(spec, base)
        self._file_values = base

    def __getstate__(self):
        # Tables and the compiled engine are caches (tens of MB on the default model) rebuilt on first
        # use, so a pickled model (joblib, multiprocessing, Dask) carries only its description and values.
        state = self.__dict__.copy()
        for name in ("tables", "engine"):
            state.pop(name, None)
        return state

    # -- identity ------------------------------------------------------------
    @property
    def spec(self) -> ModelSpec:
        """The model description read from the files."""
        return self._spec

    @property
    def name(self) -> str:
        """The model's name (``oms_ddx`` for the default)."""
        return self._spec.name

    @property
    def version(self) -> str:
        """The model's version, from ``model.yaml``."""
        return self._spec.version

    @cached_property
    def content_hash(self) -> str:
        """SHA-256 of the model files plus any parameter overrides (first 16 hex digits)."""
        digest = hashlib.sha256()
        for key in ("model", "parameters", "evidence", "targets"):  # the bytes read at load (never re-read)
            digest.update(self._spec.file_bytes[key])
        for name in sorted(self._overrides):
            digest.update(f"{name}={self._overrides[name]!r};".encode())
        return digest.hexdigest()[:16]

    def __repr__(self) -> str:
        changed = f", {len(self._overrides)} parameter(s) changed" if self._overrides else ""
        return (
            f"<DiagnosticModel {self.name} {self.version}: {len(self._spec.variables)} variables, "
            f"{len(self.parameter_names)} parameters{changed}>"
        )

    # -- variables -------------------------------------------------------------
    @property
    def variables(self) -> list[str]:
        """All variable names in topological (file) order."""
        return list(self._spec.variables)

    def states(self, variable: str) -> tuple[str, ...]:
        """The states of a variable."""
        return self._variable(variable).states

    @cached_property
    def state_map(self) -> dict[str, tuple[str, ...]]:
        """Every variable -> its states."""
        return {name: v.states for name, v in self._spec.variables.items()}

    @cached_property
    def state_index(self) -> dict[str, pd.Index]:
        """Every variable -> its states as a pandas Index (built once: indexes of result Series)."""
        return {name: pd.Index(states, name=name) for name, states in self.state_map.items()}

    def parents(self, variable: str) -> tuple[str, ...]:
        """The parents of a variable, in table-axis order."""
        return self._variable(variable).parents

    def role(self, variable: str) -> str:
        """``age``, ``history``, ``condition``, ``finding`` or ``test``."""
        return self._variable(variable).role

    def label(self, variable: str) -> str:
        """The human label of a variable (for tables and plots)."""
        return self._variable(variable).label

    @property
    def conditions(self) -> list[str]:
        """The conditions ranked by :meth:`diagnose`: the vocabulary's, in its order, then the model's own.

        The residual "other cause" conditions are not among them (they are no
        diagnosis); :attr:`residual_conditions` lists them and
        :attr:`Diagnosis.no_listed_condition` reports how likely it is that
        none of these conditions is present.
        """
        roles = self._spec.variables
        named = [c for c in VOCABULARY_CONDITIONS if c in roles]
        extra = [n for n, v in roles.items() if v.role == "condition" and n not in named and not v.residual]
        return named + extra

    @property
    def findings(self) -> list[str]:
        """Clinical findings (including ``onset``)."""
        return self._spec.variables_with_role("finding")

    @property
    def tests(self) -> list[str]:
        """Test results."""
        return self._spec.variables_with_role("test")

    @property
    def history(self) -> list[str]:
        """History items."""
        return self._spec.variables_with_role("history")

    @property
    def age_states(self) -> tuple[str, ...]:
        """The age bins."""
        return self._spec.age_states

    def age_label(self, age_bin: str) -> str:
        """A human label of an age bin with its years, e.g. ``toddler (1-3 y)`` or ``older adult (50+ y)``."""
        if age_bin not in self._spec.age_states:
            raise EvidenceError(
                f"Unknown age bin {age_bin!r}; the bins are {list(self._spec.age_states)}."
                + did_you_mean(str(age_bin), self._spec.age_states)
            )
        i = self._spec.age_states.index(age_bin)
        lower = self._spec.age_bins_years
        name = age_bin.replace("_", " ")
        if i == 0:
            return f"{name} (<{lower[1]:g} y)"
        if i == len(lower) - 1:
            return f"{name} ({lower[i]:g}+ y)"
        return f"{name} ({lower[i]:g}-{lower[i + 1] - 1:g} y)"

    def _variable(self, variable: str):
        try:
            return self._spec.variables[variable]
        except KeyError:
            raise EvidenceError(
                f"Unknown variable {variable!r}." + did_you_mean(str(variable), self._spec.variables)
            ) from None

    # -- parameters ------------------------------------------------------------
    @property
    def parameter_names(self) -> list[str]:
        """Every named parameter (categorical groups by member, ``oms.onset.acute``)."""
        return list(self._spec.parameters)

    @property
    def values(self) -> dict[str, float]:
        """Current value of every parameter (derived ones included)."""
        return dict(self._values)

    def parameter_value(self, name: str) -> float:
        """The current value of one parameter."""
        self._check_parameter(name)
        return self._values[name]

    @cached_property
    def _feeds(self) -> dict[str, str]:
        feeds = {}
        for var in self._spec.variables.values():
            for name in recipe_parameters(var.table, self._spec.groups):
                feeds[name] = var.name
        return feeds

    def table_of(self, parameter: str) -> str | None:
        """The variable whose table the parameter feeds (None for formula inputs only)."""
        self._check_parameter(parameter)
        return self._feeds.get(parameter)

    @cached_property
    def _derived_from(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for spec in self._spec.parameters.values():
            if spec.formula:
                for name in formula_inputs(spec.formula):
                    out.setdefault(name, []).append(spec.name)
        return out

    @cached_property
    def parameters(self) -> pd.DataFrame:
        """Every named parameter with value, uncertainty, source and the table it feeds.

        Returns
        -------
        pandas.DataFrame
            Indexed by parameter name, with columns ``means``, ``value``,
            ``file_value``, ``distribution``, ``low``, ``high`` (the 95%
            interval of the uncertainty), ``source`` (evidence ids),
            ``expert`` (True for expert estimates), ``reason``, ``table``
            (the variable it feeds), ``group`` (categorical parameter it
            belongs to; its siblings co-vary proportionally), ``derived``
            (the formula, for derived parameters) and ``feeds_formulas``.
        """
        from .uncertainty_draws import derived_interval

        rows = []
        for name, p in self._spec.parameters.items():
            if p.is_derived:
                low, high = derived_interval(self, name)
            elif p.group is not None:
                low, high = p.uncertainty.interval(component=self._spec.groups[p.group].states.index(p.state))
            else:
                low, high = p.uncertainty.interval()
            expert = p.expert is not None or (
                bool(p.sources) and all(self._spec.evidence[s].is_expert for s in p.sources)
            )
            reason = p.expert or ("; ".join(self._spec.evidence[s].note for s in p.sources) if expert else "")
            rows.append(
                {
                    "parameter": name,
                    "means": p.means,
                    "value": self._values[name],
                    "file_value": self._file_values[name],
                    "distribution": p.uncertainty.distribution,
                    "low": low,
                    "high": high,
                    "source": ", ".join(p.sources) if p.sources else (EXPERT if p.expert else "derived"),
                    "expert": expert,
                    "reason": reason,
                    "table": self._feeds.get(name),
                    "group": p.group,
                    "derived": p.formula,
                    "feeds_formulas": ", ".join(self._derived_from.get(name, [])) or None,
                }
            )
        return pd.DataFrame(rows).set_index("parameter")

    def _check_parameter(self, name: str) -> None:
        if name not in self._spec.parameters:
            raise EvidenceError(
                f"Unknown parameter {name!r}." + did_you_mean(str(name), self._spec.parameters)
            )

    def with_parameters(self, values: Mapping[str, float]) -> DiagnosticModel:
        """A new model with some parameters changed; this one is unchanged.

        Parameters
        ----------
        values : mapping
            Parameter name -> new value. Setting one state of a categorical
            parameter (``oms.onset.acute``) rescales its other states in
            proportion so that they still sum to 1 (proportional
            co-variation). Derived parameters keep their values unless named:
            they were calibrated at the file's values. A parameter that feeds
            only formulas (``oms.nb_fraction``) would therefore change nothing,
            and is refused unless the derived parameters it feeds are set too.

        Returns
        -------
        DiagnosticModel

        Raises
        ------
        EvidenceError
            For an unknown parameter name, a value outside [0, 1] for a
            probability, or a formula input changed alone.
        """
        if not isinstance(values, Mapping):
            raise EvidenceError(
                f"with_parameters needs a mapping of parameter names to values. Got {type(values).__name__} instead."
            )
        merged = dict(self._overrides)
        for name, value in dict(values).items():
            self._check_parameter(name)
            merged[name] = value
        changed = DiagnosticModel(self._spec, merged, _refs=self._refs, _base=self._file_values)  # checks the values
        for name in values:
            self._check_not_inert(name, merged)
        return changed

    def _check_not_inert(self, name: str, merged: Mapping[str, float]) -> None:
        """Refuse a change that would change nothing: a formula input whose derived parameters are not set too."""
        if self._feeds.get(name) is not None:
            return
        downstream, stack = [], list(self._derived_from.get(name, []))
        while stack:  # the derived parameters that feed tables, through chains of formulas
            derived = stack.pop()
            if self._feeds.get(derived) is not None:
                downstream.append(derived)
            stack.extend(self._derived_from.get(derived, []))
        missing = sorted(d for d in set(downstream) if d not in merged)
        if missing:
            raise EvidenceError(
                f"Parameter '{name}' feeds no table, only the formulas of {', '.join(repr(d) for d in missing)}; "
                "derived parameters keep their calibrated values, so changing it alone would change nothing. "
                "Set the derived parameters themselves (with_parameters accepts them), or change the model file."
            )

    @property
    def overrides(self) -> dict[str, float]:
        """Parameters changed from the file's values (as given to :meth:`with_parameters`)."""
        return dict(self._overrides)

    # -- tables ------------------------------------------------------------------
    @property
    def references(self) -> dict[str, np.ndarray]:
        """Frozen reference prevalence by age of each trigger variable."""
        return {k: v.copy() for k, v in self._refs.items()}

    @cached_property
    def tables(self) -> dict[str, np.ndarray]:
        """Every CPT as ``array[state, *parents]`` (parents as in :meth:`parents`)."""
        built = _tables.build_tables(self._spec, self._values, self._refs)
        for name, cpt in built.items():
            _check_table(self._spec, name, cpt)
        return built

    def cpt(self, variable: str) -> pd.DataFrame:
        """A variable's table as a readable DataFrame (rows: parent configurations)."""
        var = self._variable(variable)
        arr = self.tables[variable]
        if not var.parents:
            return pd.DataFrame([arr], columns=list(var.states))
        index = pd.MultiIndex.from_product([self.states(p) for p in var.parents], names=list(var.parents))
        flat = arr.reshape(len(var.states), -1).T
        return pd.DataFrame(flat, index=index, columns=list(var.states))

    # -- evidence ----------------------------------------------------------------
    def normalize(self, evidence: Mapping | None, age: float | None = None, what: str = "diagnose") -> NormalizedEvidence:
        """Check evidence and age against the model (see :mod:`omsbayes.evidence`, :mod:`omsbayes.softevidence`).

        A ``"setting"`` key in the evidence names the clinical setting; without
        one the model's default setting applies (see :mod:`omsbayes.settings`).
        The setting applied is recorded as ``.setting``.
        """
        from .evidence import age_to_bin, is_missing
        from .settings import resolve_setting
        from .softevidence import resolve_marginals, split_marginals

        age_bin = None
        if age is not None and not _missing(age, is_missing):
            age_bin = age_to_bin(age, self._spec.age_states, self._spec.age_bins_years, what)
        elif isinstance(evidence, Mapping) and isinstance(evidence.get("age"), str):
            age_bin = evidence["age"] if evidence["age"] in self._spec.age_states else None
        if evidence is not None and not isinstance(evidence, Mapping):
            return normalize_evidence(evidence, age, self.state_map, self._spec.age_states, self._spec.age_bins_years, what)
        setting, expanded = resolve_setting(self._spec, evidence, age_bin, what)
        expanded, targets = split_marginals(expanded, self.state_map, what)
        ev = normalize_evidence(expanded, age, self.state_map, self._spec.age_states, self._spec.age_bins_years, what)
        ev = dataclasses.replace(ev, setting=setting)
        return resolve_marginals(self, ev, targets) if targets else ev

    @property
    def settings(self) -> pd.DataFrame:
        """The clinical settings a query can describe (``setting=`` of every analysis).

        One row per setting: label, description, the evidence it adds on the
        selection variables, the age bins it is meant for, which queries use it
        by default, and its sources. See :mod:`omsbayes.settings`.
        """
        from .settings import settings_frame

        return settings_frame(self._spec)

    def default_setting(self, evidence: Mapping | None = None, age: float | None = None) -> str | None:
        """The setting that ``setting=None`` stands for with this evidence and age (None: the model has none)."""
        return self.normalize(evidence, age, what="default_setting").setting

    @property
    def residual_conditions(self) -> list[str]:
        """The catch-all "other cause" conditions (not diagnoses of their own, so not in :attr:`conditions`)."""
        return [n for n, v in self._spec.variables.items() if v.residual]

    # -- engines -----------------------------------------------------------------
    @cached_property
    def engine(self):
        """The compiled exact engine serving every query (see :mod:`omsbayes.engine`)."""
        from .engine import CompiledEngine

        return CompiledEngine(self)

    def to_pgmpy(self):
        """The model as a pgmpy ``DiscreteBayesianNetwork`` (tables and state names included)."""
        from .engine.pgmpy_adapter import to_pgmpy

        return to_pgmpy(self)

    def export(self, path: str | Path, format: str | None = None) -> Path:
        """Write the model as BIF, XMLBIF, NET, UAI or XDSL for other tools (see :func:`omsbayes.export.export_model`).

        Parameters
        ----------
        path : str or Path
            The file to write.
        format : {"bif", "xmlbif", "net", "uai", "xdsl"}, optional
            Default: told from the suffix of ``path``.

        Returns
        -------
        Path
            The file written.
        """
        from .export import export_model

        return export_model(self, path, format)

    def d_separated(self, x: str | list[str], y: str | list[str], given: str | list[str] | tuple = ()) -> bool:
        """Whether ``x`` and ``y`` are d-separated by ``given`` in the model's graph.

        True means conditionally independent given ``given`` whatever the
        numbers in the tables; see :func:`omsbayes.graph.d_separated`.

        Examples
        --------
        >>> import omsbayes
        >>> model = omsbayes.load_model()
        >>> model.d_separated("recent_infection", "neuroblastoma", given="age")
        True
        >>> model.d_separated("recent_infection", "neuroblastoma", given=["age", "oms"])
        False
        """
        from .graph import d_separated

        return d_separated(self, x, y, given)

    def query(
        self,
        variables: list[str] | None = None,
        evidence: Mapping | None = None,
        age: float | None = None,
        engine: str = "compiled",
        setting: str | None = None,
    ) -> dict[str, pd.Series]:
        """Posterior distribution of each variable given evidence.

        Parameters
        ----------
        variables : list of str, optional
            Variables to report (default: the conditions).
        evidence : mapping, optional
            Evidence as for :meth:`diagnose`.
        age : float, optional
            Age in years.
        engine : {"compiled", "pgmpy"}
            The compiled engine (default) or pgmpy's VariableElimination
            (the reference; slower).
        setting : str, optional
            The clinical setting (a name from :attr:`settings`); default: the
            model's rule for the age and onset (see :mod:`omsbayes.settings`).

        Returns
        -------
        dict of str -> pandas.Series
            Each Series is indexed by the variable's states.
        """
        from .engine import run_query

        names = self.conditions if variables is None else list(variables)
        for name in names:
            self._variable(name)
        ev = self.normalize(with_setting(evidence, setting), age, what="query")
        return run_query(self, names, ev, engine)

    def posteriors(self, evidence: Mapping | None = None, age: float | None = None, setting: str | None = None) -> pd.Series:
        """P(present | evidence, age) of every condition: the fast path of :meth:`diagnose`.

        Parameters
        ----------
        evidence : mapping, optional
            As for :meth:`diagnose`.
        age : float, optional
            Age in years.
        setting : str, optional
            The clinical setting (a name from :attr:`settings`); default: the
            model's rule for the age and onset (see :mod:`omsbayes.settings`).

        Returns
        -------
        pandas.Series
            Indexed by :attr:`conditions`; the same numbers as
            ``diagnose(...).posterior``, without the prior, the criteria and
            the must-not-miss note.

        Raises
        ------
        EvidenceError
            As :meth:`diagnose`.
        """
        from .engine import posterior_arrays

        ev = self.normalize(with_setting(evidence, setting), age, what="posteriors")
        arrays, _ = posterior_arrays(self, self.conditions + self.residual_conditions, ev)  # as diagnose, bit for bit
        return pd.Series([arrays[c][-1] for c in self.conditions], index=self._conditions_index, name="posterior")

    @cached_property
    def _conditions_index(self) -> pd.Index:
        return pd.Index(self.conditions, name="condition")

    def diagnose(self, evidence: Mapping | None = None, age: float | None = None, setting: str | None = None) -> Diagnosis:
        """Posterior probability of every condition given the evidence and age.

        Parameters
        ----------
        evidence : mapping, optional
            Variable -> state (``{"opsoclonus": "present"}``); a probability in
            [0, 1] or :class:`~omsbayes.Likelihood` for an uncertain finding.
            Evidence may be on any variable, conditions included.
        age : float, optional
            Age in years (mapped to the model's age bins); None = unknown.
        setting : str, optional
            The clinical setting (a name from :attr:`settings`); default: the
            model's rule for the age and onset (see :mod:`omsbayes.settings`).

        Returns
        -------
        Diagnosis
            ``.posterior`` (Series), ``.table`` (DataFrame), ``.plot()``, the
            2004 consensus criteria and, for a child with probable OMS, a
            must-not-miss note.

        Raises
        ------
        EvidenceError
            Unknown variable or state, invalid age, or evidence the model
            gives probability zero.

        Examples
        --------
        >>> import omsbayes
        >>> model = omsbayes.load_model()
        >>> dx = model.diagnose({"opsoclonus": "present", "ataxia": "present"}, age=1.5)
        >>> dx.posterior.idxmax()
        'oms'
        """
        from .diagnosis import diagnose

        return diagnose(self, with_setting(evidence, setting), age)

    def diagnose_batch(
        self,
        frame: pd.DataFrame,
        progress: bool = False,
        memory_budget: int | None = None,
        dedupe: bool = True,
        setting: str | None = None,
    ) -> pd.DataFrame:
        """Posterior probability of every condition for every case of a cohort.

        Parameters
        ----------
        frame : pandas.DataFrame
            One row per case. Columns are variables of the model holding a
            state name, a probability in [0, 1] for a two-state variable (an
            uncertain observation, as in :meth:`diagnose`) or nothing (NaN,
            None or "": not observed); an optional ``age`` column holds the
            age in years. Rows may observe different variables.
        progress : bool
            Show a progress bar (tqdm) over the cases.
        memory_budget : int, optional
            Bytes the engine's intermediates may hold at once (default 256 MiB);
            each evidence pattern is run in chunks that fit it.
        dedupe : bool
            Compute each distinct evidence row once (default). The answers are
            the same either way.
        setting : str, optional
            The clinical setting (a name from :attr:`settings`); default: the
            model's rule for the age and onset (see :mod:`omsbayes.settings`).

        Returns
        -------
        pandas.DataFrame
            Indexed like ``frame``, one column per condition (as
            :attr:`conditions`): P(present | the row's evidence and age). A
            condition observed in a row is 1 or 0 there.

        Raises
        ------
        EvidenceError
            Unknown column (with a did-you-mean), illegal state or probability
            naming the row, invalid age, or rows whose evidence has
            probability zero.

        See Also
        --------
        diagnose : one case, with the consensus criteria and the must-not-miss note.

        Examples
        --------
        >>> import pandas as pd, omsbayes
        >>> model = omsbayes.load_model()
        >>> cohort = pd.DataFrame({"age": [1.5, 40], "opsoclonus": ["present", None]})
        >>> model.diagnose_batch(cohort).idxmax(axis=1).tolist()[0]
        'oms'
        """
        from .batch import diagnose_batch

        return diagnose_batch(self, frame, progress=progress, memory_budget=memory_budget, dedupe=dedupe, setting=setting)

    # -- analyses (omsbayes.sensitivity, .uncertainty, .information, .scenarios) --
    def sensitivity(
        self, evidence: Mapping | None = None, age: float | None = None, target: str = "oms", setting: str | None = None
    ) -> Sensitivity:
        """One-way sensitivity of P(target present | evidence) to every parameter, in one pass.

        Differentiates the network polynomial once (no re-inference per
        parameter): for each parameter ``t`` the exact sensitivity function
        ``f(t) = (a t + b) / (c t + d)``, its derivative at the current value,
        the posterior at both ends of the parameter's 95% uncertainty interval
        and the nearest value at which the top-ranked condition changes.

        Parameters
        ----------
        evidence : mapping, optional
            As for :meth:`diagnose` (hard, probability or likelihood evidence).
        age : float, optional
            Age in years.
        target : str
            A two-state variable not observed as hard evidence (default ``"oms"``).
        setting : str, optional
            The clinical setting (a name from :attr:`settings`); default: the
            model's rule for the age and onset (see :mod:`omsbayes.settings`).

        Returns
        -------
        Sensitivity
            ``.table`` (one row per parameter, sorted by swing), ``.plot()``
            (tornado), ``.functions``, ``.posterior_at()``.

        Raises
        ------
        EvidenceError
            Unknown or observed target, bad evidence, or evidence of probability zero.

        See Also
        --------
        omsbayes.sensitivity : the formulas, conventions and references.

        References
        ----------
        Coupé VMH, van der Gaag LC. Properties of sensitivity analysis of
        Bayesian belief networks. Ann Math Artif Intell 2002;36:323-356.

        Darwiche A. A differential approach to inference in Bayesian networks.
        J ACM 2003;50(3):280-305.

        Chan H, Darwiche A. When do numbers really matter? J Artif Intell Res
        2002;17:265-287.

        Examples
        --------
        >>> import omsbayes
        >>> model = omsbayes.load_model()
        >>> s = model.sensitivity({"opsoclonus": "present", "ataxia": "present"}, age=1.5)
        >>> list(s.table.columns[:4])
        ['parameter', 'means', 'value', 'low']
        """
        from .sensitivity import sensitivity

        return sensitivity(self, with_setting(evidence, setting), age, target)

    def uncertainty(
        self,
        evidence: Mapping | None = None,
        age: float | None = None,
        draws: int = 2000,
        rng: int | np.random.Generator | None = None,
        progress: bool | None = None,
        setting: str | None = None,
    ) -> Uncertainty:
        """Second-order uncertainty: every condition's posterior over draws of all parameters.

        Parameters
        ----------
        evidence : mapping, optional
            As for :meth:`diagnose`.
        age : float, optional
            Age in years.
        draws : int
            Number of parameter draws (default 2000).
        rng : int, numpy.random.Generator or None
            Seed or generator; the same seed gives identical results bit for bit.
        progress : bool, optional
            Show a progress bar (default: only on a terminal); False switches it off.
        setting : str, optional
            The clinical setting (a name from :attr:`settings`); default: the
            model's rule for the age and onset (see :mod:`omsbayes.settings`).

        Returns
        -------
        Uncertainty
            ``.table`` per condition: point estimate, mean, sd, median, 90% and
            95% intervals, probability of ranking first; ``.p_top_differs``;
            ``.samples``; ``.plot()`` (intervals).

        See Also
        --------
        omsbayes.uncertainty : method and references.
        """
        from .uncertainty import uncertainty

        return uncertainty(self, with_setting(evidence, setting), age, draws=draws, rng=rng, progress=progress)

    def evidence_impact(self, evidence: Mapping | None, age: float | None = None, setting: str | None = None) -> EvidenceImpact:
        """What each observed item does: posteriors without it and with it flipped, and its likelihood ratio.

        Parameters
        ----------
        evidence : mapping
            As for :meth:`diagnose` (at least one item).
        age : float, optional
            Age in years (counted as an item when given).
        setting : str, optional
            The clinical setting (a name from :attr:`settings`); default: the
            model's rule for the age and onset (see :mod:`omsbayes.settings`).

        Returns
        -------
        EvidenceImpact
            ``.table`` (item x condition: with, without, flipped),
            ``.summary`` (per item: top condition's posteriors and the
            likelihood ratio for the top condition versus the runner-up),
            ``.plot()`` (waterfall-style).

        See Also
        --------
        omsbayes.information : definitions.
        """
        from .information import evidence_impact

        return evidence_impact(self, with_setting(evidence, setting), age)

    def value_of_information(
        self,
        evidence: Mapping | None = None,
        age: float | None = None,
        candidates: list[str] | None = None,
        setting: str | None = None,
    ) -> ValueOfInformation:
        """Rank unobserved findings and tests by the expected effect of their result ("which test next").

        Parameters
        ----------
        evidence : mapping, optional
            As for :meth:`diagnose`.
        age : float, optional
            Age in years.
        candidates : list of str, optional
            Variables to consider (default: every finding and test not observed).
        setting : str, optional
            The clinical setting (a name from :attr:`settings`); default: the
            model's rule for the age and onset (see :mod:`omsbayes.settings`).

        Returns
        -------
        ValueOfInformation
            ``.table`` ranked by expected entropy reduction (sum of the
            conditions' binary entropies), with the expected change of the top
            posterior, the probability that the result changes the top
            diagnosis and the expected change of the log-odds between the top
            two; ``.outcomes`` per state; ``.plot()``.

        Raises
        ------
        EvidenceError
            Unknown or already observed candidate.

        See Also
        --------
        omsbayes.information : definitions and references.
        """
        from .information import value_of_information

        return value_of_information(self, with_setting(evidence, setting), age, candidates)

    def what_if(
        self, evidence: Mapping | None, scenarios: Mapping[str, Mapping], age: float | None = None, setting: str | None = None
    ) -> WhatIf:
        """Posteriors of every condition under named scenarios.

        Parameters
        ----------
        evidence : mapping
            The baseline case, as for :meth:`diagnose`.
        scenarios : mapping
            Name -> changes. A change maps a variable to a new state,
            probability or likelihood (None drops it), ``"age"`` to a new age
            in years (None: unknown), or a parameter name to a new value
            (as :meth:`with_parameters`). Example:
            ``{"no mass": {"abdominal_mass": None}, "rarer NB": {"neuroblastoma.incidence.toddler": 1e-6}}``.
        age : float, optional
            Baseline age in years.
        setting : str, optional
            The clinical setting (a name from :attr:`settings`); default: the
            model's rule for the age and onset (see :mod:`omsbayes.settings`).

        Returns
        -------
        WhatIf
            ``.table`` (scenario x condition: posterior, baseline, change,
            rank), ``.scenarios``, ``.plot()``.
        """
        from .scenarios import what_if

        return what_if(self, with_setting(evidence, setting), scenarios, age)

    def sweep_age(self, evidence: Mapping | None = None, ages: list[float] | None = None, setting: str | None = None) -> Sweep:
        """Posterior of every condition in each age bin (or at given ages in years).

        Parameters
        ----------
        evidence : mapping, optional
            As for :meth:`diagnose`, without an age.
        ages : list of float, optional
            Ages in years; default one point per age bin.
        setting : str, optional
            The clinical setting (a name from :attr:`settings`); default: the
            model's rule for the age and onset (see :mod:`omsbayes.settings`).

        Returns
        -------
        Sweep
        """
        from .scenarios import sweep_age

        return sweep_age(self, with_setting(evidence, setting), ages)

    def sweep_parameter(
        self,
        evidence: Mapping | None,
        parameters: str | list[str],
        values: list[float] | None = None,
        factors: list[float] | None = None,
        age: float | None = None,
        points: int = 21,
        setting: str | None = None,
    ) -> Sweep:
        """Posterior of every condition as a parameter (or several, scaled together) changes.

        Parameters
        ----------
        evidence : mapping
            As for :meth:`diagnose`.
        parameters : str or list of str
            A parameter name, a list, or a shell-style pattern
            (``"neuroblastoma.incidence.*"``).
        values : list of float, optional
            Values of a single parameter (default: ``points`` values across its
            95% uncertainty interval).
        factors : list of float, optional
            Multiply every named parameter by each factor (default for several
            parameters: 0.1 to 10, log-spaced).
        age : float, optional
            Age in years.
        points : int
            Number of default points.
        setting : str, optional
            The clinical setting (a name from :attr:`settings`); default: the
            model's rule for the age and onset (see :mod:`omsbayes.settings`).

        Returns
        -------
        Sweep
            Exact re-inference at every point (tables of :meth:`with_parameters`).
        """
        from .scenarios import sweep_parameter

        return sweep_parameter(
            self, with_setting(evidence, setting), parameters, values=values, factors=factors, age=age, points=points
        )

    def evidence_trajectory(
        self, evidence: Mapping, order: list[str] | None = None, age: float | None = None, setting: str | None = None
    ) -> Sweep:
        """Posteriors as the evidence items are added one at a time (the course of a case).

        Parameters
        ----------
        evidence : mapping
            As for :meth:`diagnose`.
        order : list of str, optional
            The order in which items are added (default: the mapping's order;
            items left out follow in that order).
        age : float, optional
            Age in years, known from the start.
        setting : str, optional
            The clinical setting (a name from :attr:`settings`); default: the
            model's rule for the age and onset (see :mod:`omsbayes.settings`).

        Returns
        -------
        Sweep
            Step 0 is the age alone (or nothing); step ``i`` adds item ``i``.
        """
        from .scenarios import evidence_trajectory

        return evidence_trajectory(self, with_setting(evidence, setting), order, age)


# ---------------------------------------------------------------------------
# values
# ---------------------------------------------------------------------------
def _missing(value, is_missing) -> bool:
    """The one missing-value rule of omsbayes.evidence, for a scalar age (arrays and odd types: not missing here)."""
    try:
        return bool(is_missing(value))
    except (TypeError, ValueError):
        return False


def _file_values(spec: ModelSpec) -> dict[str, float]:
    values = {name: p.value for name, p in spec.parameters.items() if not p.is_derived}
    for name, p in spec.parameters.items():
        if p.is_derived:
            try:
                values[name] = float(evaluate_formula(p.formula, values))
            except ZeroDivisionError:
                raise ModelFileError(
                    f"the formula of parameter '{name}' divides by zero at the file's values.",
                    str(spec.files["parameters"]),
                    p.line,
                ) from None
    return values


def _apply_overrides(spec: ModelSpec, base: Mapping[str, float], overrides: Mapping[str, float]) -> dict[str, float]:
    """New values for overridden parameters, with proportional co-variation inside groups."""
    out: dict[str, float] = {}
    for name, raw in overrides.items():
        try:
            value = float(raw)
        except (TypeError, ValueError):
            raise EvidenceError(f"The value of parameter '{name}' must be a number. Got {raw!r} instead.") from None
        p = spec.parameters[name]
        probability = p.uncertainty.kind in ("beta", "dirichlet") or p.group is not None
        if not np.isfinite(value) or (probability and not 0.0 <= value <= 1.0) or value < 0:
            allowed = "between 0 and 1" if probability else "a finite number >= 0"
            raise EvidenceError(f"The value of parameter '{name}' must be {allowed}. Got {raw!r} instead.")
        out[name] = value
    for name, value in list(out.items()):
        p = spec.parameters[name]
        if p.group is None:
            continue
        group = spec.groups[p.group]
        siblings = [group.member(s) for s in group.states if group.member(s) != name]
        rest = sum(base[s] for s in siblings)
        for sib in siblings:
            if sib in overrides:
                continue
            out[sib] = base[sib] * (1.0 - value) / rest if rest > 0 else (1.0 - value) / len(siblings)
    return out


def _check_table(spec: ModelSpec, name: str, cpt: np.ndarray) -> None:
    """Entries in [0, 1] summing to 1 over the variable's states."""
    if not np.all(np.isfinite(cpt)) or np.any(cpt < -1e-12) or np.any(cpt > 1 + 1e-12):
        raise ModelFileError(
            f"the table of '{name}' has entries outside [0, 1]; check the values of the parameters it uses.",
            str(spec.files["model"]),
            spec.variables[name].line,
        )
    sums = cpt.sum(axis=0)
    if not np.allclose(sums, 1.0, atol=1e-9):
        raise ModelFileError(
            f"the table of '{name}' does not sum to 1 over its states (worst column sums to "
            f"{sums.flat[np.argmax(np.abs(sums - 1.0))]:.6g}).",
            str(spec.files["model"]),
            spec.variables[name].line,
        )

