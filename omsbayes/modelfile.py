"""Read a model directory (YAML) into a checked, immutable description.

A model is four files side by side (see ``models/oms_ddx``):

``model.yaml``
    Metadata, the population the priors describe, the age bins and every
    variable with its role, states, parents and how its table is built.
``parameters.yaml``
    Every named parameter: value, uncertainty, source (evidence id) or the
    reason it is an expert estimate.
``evidence.yaml``
    The literature table the parameters cite.
``targets.yaml``
    Published figures the model must reproduce as queries.

Problems are reported as :class:`~omsbayes.errors.ModelFileError` with the
file and line. Nothing here computes a table; see :mod:`omsbayes.tables`.
"""

from __future__ import annotations

import ast
import functools
import math
import operator
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .distributions import Uncertainty
from .errors import ModelFileError, did_you_mean
from .yamlio import line_of, read_yaml_bytes

__all__ = [
    "AgeMap",
    "CauseRow",
    "ModelSpec",
    "ParameterSpec",
    "GroupSpec",
    "VariableSpec",
    "TargetSpec",
    "SettingSpec",
    "DefaultSetting",
    "EvidenceEntry",
    "read_model",
    "ROLES",
    "EXPERT",
]

ROLES = ("age", "history", "condition", "finding", "test")
EXPERT = "expert estimate"


# ---------------------------------------------------------------------------
# plain data
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class EvidenceEntry:
    """One row of the evidence (literature) table."""

    id: str
    quantity: str
    estimate: float | None
    low: float | None
    high: float | None
    n: int | None
    population: str
    source: str
    note: str

    @property
    def is_expert(self) -> bool:
        """True when the entry has no published source."""
        return self.source.strip().lower() == EXPERT


@dataclass(frozen=True)
class ParameterSpec:
    """A named parameter as written in ``parameters.yaml``.

    Exactly one of ``value`` and ``formula`` is set. Members of a categorical
    group (``oms.onset.acute``) carry ``group`` and ``state``.
    """

    name: str
    means: str
    value: float | None
    formula: str | None
    uncertainty: Uncertainty
    sources: tuple[str, ...]
    expert: str | None
    note: str
    line: int | None
    group: str | None = None
    state: str | None = None

    @property
    def is_derived(self) -> bool:
        """True for a parameter computed from others by a formula."""
        return self.formula is not None


@dataclass(frozen=True)
class GroupSpec:
    """A categorical parameter: a distribution over ``states`` (Dirichlet uncertainty)."""

    name: str
    means: str
    states: tuple[str, ...]
    value: tuple[float, ...]
    uncertainty: Uncertainty
    sources: tuple[str, ...]
    expert: str | None
    note: str
    line: int | None

    def member(self, state: str) -> str:
        """The parameter name of one state's probability."""
        return f"{self.name}.{state}"


@dataclass(frozen=True)
class AgeMap:
    """A parameter name for each age bin (the same name when age does not matter)."""

    names: tuple[str, ...]  # one per age bin, in bin order

    @property
    def varies_with_age(self) -> bool:
        """True when different bins use different parameters."""
        return len(set(self.names)) > 1


@dataclass(frozen=True)
class CauseRow:
    """For one cause: the parameter that applies when ``when`` holds (empty: otherwise)."""

    when: tuple[tuple[str, str], ...]
    p: AgeMap


@dataclass(frozen=True)
class VariableSpec:
    """A variable: role, states, parents and the recipe for its table."""

    name: str
    role: str
    label: str
    description: str
    states: tuple[str, ...]
    parents: tuple[str, ...]
    table: dict  # normalised recipe, see _parse_table
    line: int | None
    residual: bool = False  # a catch-all "other cause" condition, not a diagnosis of its own


@dataclass(frozen=True)
class SettingSpec:
    """A clinical setting: the reference class a query describes.

    A setting is hard evidence on the model's selection variables (where the
    patient is seen), so that priors become P(condition | age, setting) by
    Bayes' rule from the population incidences; ``general_population`` adds
    none.
    """

    name: str
    label: str
    description: str
    evidence: dict  # variable -> state
    ages: tuple[str, ...]  # the age bins it is meant for (all when empty)
    sources: tuple[str, ...]
    line: int | None


@dataclass(frozen=True)
class DefaultSetting:
    """How ``setting=None`` is resolved: by age group, and by a chronic onset."""

    by_age: dict  # age bin -> setting name
    age_unknown: str
    chronic_onset: str | None  # setting when the onset is observed as 'chronic'


@dataclass(frozen=True)
class TargetSpec:
    """A published figure the model must reproduce as a query."""

    id: str
    means: str
    target: str
    state: str
    evidence: dict
    age: Any  # None, a bin name, a list of bin names, or years
    setting: str | None
    low: float
    high: float
    sources: tuple[str, ...]
    note: str
    line: int | None


@dataclass(frozen=True)
class ModelSpec:
    """Everything read from a model directory, checked for consistency."""

    path: Path
    name: str
    version: str
    title: str
    population: str
    intended_use: str
    age_states: tuple[str, ...]
    age_bins_years: tuple[float, ...]
    age_groups: dict[str, tuple[str, ...]]
    variables: dict[str, VariableSpec]
    parameters: dict[str, ParameterSpec]
    groups: dict[str, GroupSpec]
    evidence: dict[str, EvidenceEntry]
    targets: tuple[TargetSpec, ...]
    files: dict[str, Path] = field(default_factory=dict)
    gaps: tuple[str, ...] = ()
    settings: dict[str, SettingSpec] = field(default_factory=dict)
    default_setting: DefaultSetting | None = None
    selection: tuple[str, ...] = ()  # variables that say where the patient is seen
    #: The bytes of each file as read and parsed (keys as ``files``): the content hash is computed
    #: from them, so it describes exactly what was loaded, even if a file changes afterwards.
    file_bytes: dict[str, bytes] = field(default_factory=dict, repr=False)

    def variables_with_role(self, role: str) -> list[str]:
        """Names of the variables with this role, in file order."""
        return [v.name for v in self.variables.values() if v.role == role]


# ---------------------------------------------------------------------------
# helpers for errors with file and line
# ---------------------------------------------------------------------------
class _Ctx:
    def __init__(self, path: Path):
        self.path = path

    def fail(self, message: str, node: Any = None, key: str | None = None):
        raise ModelFileError(message, str(self.path), line_of(node, key) if node is not None else None)

    def require(self, node: Any, key: str, kind: type | tuple[type, ...], what: str):
        if not isinstance(node, Mapping) or key not in node:
            self.fail(f"{what} needs a '{key}' entry.", node)
        value = node[key]
        if not isinstance(value, kind):
            names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            self.fail(f"'{key}' of {what} must be a {names}; got {value!r}.", node, key)
        return value


def _is_number(value) -> bool:
    """A finite int or float from YAML (booleans such as ``yes`` are not numbers)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _names(ctx: _Ctx, values, node, key: str, what: str) -> tuple[str, ...]:
    """State or bin names: non-empty strings, each once. YAML reads yes/no/on/off as booleans and null as None."""
    if not isinstance(values, list):
        ctx.fail(f"'{key}' of {what} must be a list of names; got {values!r}.", node, key)
    for value in values:
        if not isinstance(value, str) or not value.strip():
            hint = (
                " YAML reads yes/no/on/off/true/false as booleans and null or ~ as nothing: put such names in quotes."
                if value is None or isinstance(value, bool)
                else ""
            )
            ctx.fail(f"'{key}' of {what} must be names (text); got {value!r}.{hint}", node, key)
    if len(set(values)) != len(values):
        ctx.fail(f"'{key}' of {what} names a state twice: {values}.", node, key)
    return tuple(values)


def _as_tuple(value) -> tuple:
    if value is None:
        return ()
    if isinstance(value, (list, tuple)):
        return tuple(value)
    return (value,)


# ---------------------------------------------------------------------------
# evidence
# ---------------------------------------------------------------------------
def _read_evidence(path: Path, raw: dict[str, bytes]) -> dict[str, EvidenceEntry]:
    ctx = _Ctx(path)
    doc, raw["evidence"] = read_yaml_bytes(path)
    entries = ctx.require(doc, "entries", list, "the evidence file")
    out: dict[str, EvidenceEntry] = {}
    for node in entries:
        if not isinstance(node, Mapping):
            ctx.fail("every evidence entry must be a mapping.", entries)
        eid = ctx.require(node, "id", str, "an evidence entry")
        if eid in out:
            ctx.fail(f"evidence id '{eid}' appears twice.", node, "id")
        source = ctx.require(node, "source", str, f"evidence '{eid}'")
        quantity = ctx.require(node, "quantity", str, f"evidence '{eid}'")
        numbers = {}
        for key in ("estimate", "low", "high"):
            value = node.get(key)
            if value is not None and not _is_number(value):
                ctx.fail(f"'{key}' of evidence '{eid}' must be a finite number; got {value!r}.", node, key)
            numbers[key] = None if value is None else float(value)
        n = node.get("n")
        if n is not None and (not isinstance(n, int) or isinstance(n, bool) or n <= 0):
            ctx.fail(f"'n' of evidence '{eid}' must be a positive whole number; got {n!r}.", node, "n")
        out[eid] = EvidenceEntry(
            id=eid,
            quantity=quantity,
            n=n,
            population=str(node.get("population", "")),
            source=source,
            note=str(node.get("note", "")),
            **numbers,
        )
    return out


# ---------------------------------------------------------------------------
# parameters
# ---------------------------------------------------------------------------
_DISTRIBUTIONS = {"beta", "lognormal", "dirichlet"}


def _parse_sources(ctx: _Ctx, node: Mapping, name: str, evidence: Mapping[str, EvidenceEntry]):
    sources = _as_tuple(node.get("source"))
    expert = node.get("expert")
    if not sources and not expert and "formula" not in node:
        ctx.fail(
            f"parameter '{name}' has no source: give 'source' (an evidence id) or "
            "'expert' (a one-line reason it is an expert estimate).",
            node,
        )
    for sid in sources:
        if not isinstance(sid, str) or sid not in evidence:
            ctx.fail(
                f"parameter '{name}' cites unknown evidence id {sid!r}." + did_you_mean(str(sid), evidence),
                node,
                "source",
            )
    if expert is not None and (not isinstance(expert, str) or not expert.strip()):
        ctx.fail(f"'expert' of parameter '{name}' must be a one-line reason.", node, "expert")
    return sources, (expert.strip() if expert else None)


def _parse_uncertainty(ctx: _Ctx, node: Mapping, name: str, center, is_rate_like: bool):
    spec = ctx.require(node, "uncertainty", Mapping, f"parameter '{name}'")
    kind = spec.get("dist")
    if kind not in _DISTRIBUTIONS:
        ctx.fail(
            f"'uncertainty' of parameter '{name}' needs 'dist', one of {sorted(_DISTRIBUTIONS)}; got {kind!r}.",
            node,
            "uncertainty",
        )
    clean = {k: v for k, v in spec.items() if k != "dist"}
    for key, value in clean.items():
        if not _is_number(value):
            ctx.fail(
                f"uncertainty '{key}' of parameter '{name}' must be a finite number; got {value!r}.", node, "uncertainty"
            )
    if kind == "dirichlet":
        if "concentration" not in clean or clean["concentration"] <= 0:
            ctx.fail(f"parameter '{name}': a dirichlet needs a positive 'concentration'.", node, "uncertainty")
    elif kind == "beta":
        if "n" in clean:
            if clean["n"] <= 0:
                ctx.fail(f"parameter '{name}': 'n' must be positive.", node, "uncertainty")
        elif not ({"low", "high"} <= clean.keys()):
            ctx.fail(f"parameter '{name}': a beta needs 'n' or both 'low' and 'high'.", node, "uncertainty")
        if not 0.0 < center < 1.0:
            ctx.fail(
                f"parameter '{name}' has a beta uncertainty, so its value must lie strictly between 0 and 1; "
                f"got {center}.",
                node,
                "value",
            )
    elif kind == "lognormal":
        if not ({"low", "high"} <= clean.keys()):
            ctx.fail(f"parameter '{name}': a lognormal needs 'low' and 'high'.", node, "uncertainty")
        if center <= 0:
            ctx.fail(f"parameter '{name}' has a lognormal uncertainty, so its value must be positive.", node, "value")
    if "low" in clean and "high" in clean:
        low, high = clean["low"], clean["high"]
        if not low <= center <= high and kind != "dirichlet":
            ctx.fail(
                f"parameter '{name}': value {center} lies outside its uncertainty range [{low}, {high}].",
                node,
                "uncertainty",
            )
        if kind == "lognormal" and low <= 0:
            ctx.fail(f"parameter '{name}': a lognormal range must be positive.", node, "uncertainty")
    try:
        return Uncertainty.build(kind, clean, center)
    except ValueError as exc:  # pragma: no cover - checked above
        ctx.fail(f"parameter '{name}': {exc}.", node, "uncertainty")


def _read_parameters(path: Path, evidence: Mapping[str, EvidenceEntry], raw: dict[str, bytes]):
    ctx = _Ctx(path)
    doc, raw["parameters"] = read_yaml_bytes(path)
    block = ctx.require(doc, "parameters", Mapping, "the parameters file")
    params: dict[str, ParameterSpec] = {}
    groups: dict[str, GroupSpec] = {}
    for name, node in block.items():
        if not isinstance(name, str) or not name.strip():
            ctx.fail(f"parameter names must be text; got {name!r}.", block, name)
        if not isinstance(node, Mapping):
            ctx.fail(f"parameter '{name}' must be a mapping.", block, name)
        means = ctx.require(node, "means", str, f"parameter '{name}'")
        note = str(node.get("note", ""))
        sources, expert = _parse_sources(ctx, node, name, evidence)
        if "states" in node:  # a categorical group
            states = _names(ctx, node["states"], node, "states", f"parameter '{name}'")
            value = ctx.require(node, "value", list, f"parameter '{name}'")
            if len(value) != len(states) or not all(_is_number(v) for v in value):
                ctx.fail(f"parameter '{name}' needs one probability per state {list(states)}.", node, "value")
            if any(v <= 0 for v in value) or abs(sum(value) - 1.0) > 1e-9:
                ctx.fail(
                    f"the probabilities of parameter '{name}' must be positive and sum to 1; "
                    f"got {list(value)} (sum {sum(value):.6g}).",
                    node,
                    "value",
                )
            unc = _parse_uncertainty(ctx, node, name, tuple(float(v) for v in value), False)
            if unc.kind != "dirichlet":
                ctx.fail(f"parameter '{name}' has several states, so its uncertainty must be a dirichlet.", node)
            group = GroupSpec(name, means, states, tuple(float(v) for v in value), unc, sources, expert, note, line_of(node))
            groups[name] = group
            for state, prob in zip(states, group.value):
                member = group.member(state)
                params[member] = ParameterSpec(
                    name=member,
                    means=f"{means}: {state}",
                    value=prob,
                    formula=None,
                    uncertainty=unc,
                    sources=sources,
                    expert=expert,
                    note=note,
                    line=line_of(node),
                    group=name,
                    state=state,
                )
            continue
        if "formula" in node:
            formula = ctx.require(node, "formula", str, f"parameter '{name}'")
            params[name] = ParameterSpec(
                name, means, None, formula, Uncertainty.build("derived", {}, 0.0), sources, expert, note, line_of(node)
            )
            continue
        value = ctx.require(node, "value", (int, float), f"parameter '{name}'")
        if isinstance(value, bool) or not math.isfinite(value):
            ctx.fail(f"'value' of parameter '{name}' must be a finite number; got {value!r}.", node, "value")
        unc = _parse_uncertainty(ctx, node, name, float(value), False)
        params[name] = ParameterSpec(name, means, float(value), None, unc, sources, expert, note, line_of(node))
    return params, groups


# -- derived formulas ---------------------------------------------------------
_BINOPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}


def _dotted(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return None if base is None else f"{base}.{node.attr}"
    return None


#: Bounds on a derived formula (the bundled ones have a few terms): longer ones are refused
#: before parsing, so that no file can exhaust the parser's or the evaluator's recursion.
MAX_FORMULA_CHARS = 2000
MAX_FORMULA_TERMS = 200


class FormulaTooLarge(ValueError):
    """A formula beyond :data:`MAX_FORMULA_CHARS` or :data:`MAX_FORMULA_TERMS`."""


@functools.lru_cache(maxsize=4096)
def _parse_formula(formula: str) -> ast.Expression:
    """The formula's syntax tree (never evaluated by Python: see :func:`evaluate_formula`)."""
    if len(formula) > MAX_FORMULA_CHARS:
        raise FormulaTooLarge(f"it has {len(formula):,} characters; at most {MAX_FORMULA_CHARS:,} are allowed")
    tree = ast.parse(formula, mode="eval")
    terms = sum(isinstance(n, (ast.Name, ast.Constant)) for n in ast.walk(tree))
    if terms > MAX_FORMULA_TERMS:
        raise FormulaTooLarge(f"it has {terms:,} terms; at most {MAX_FORMULA_TERMS} are allowed")
    return tree


def formula_inputs(formula: str) -> list[str]:
    """The parameter names a derived formula reads, in order of appearance."""
    tree = _parse_formula(formula)
    names: list[str] = []

    def visit(node):
        name = _dotted(node)
        if name is not None:
            if name not in names:
                names.append(name)
            return
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree.body)
    return names


def evaluate_formula(formula: str, values: Mapping[str, Any]):
    """Evaluate ``+ - * /`` arithmetic over parameter names (scalars or arrays); nothing else is allowed."""
    tree = _parse_formula(formula)

    def ev(node):
        name = _dotted(node)
        if name is not None:
            return values[name]
        if isinstance(node, ast.Constant) and _is_number(node.value):
            return float(node.value)
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            return _BINOPS[type(node.op)](ev(node.left), ev(node.right))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -ev(node.operand)
        raise ValueError(f"unsupported expression {ast.dump(node)}")

    return ev(tree.body)


def _check_formulas(ctx: _Ctx, params: dict[str, ParameterSpec]):
    """Formulas are arithmetic over parameters defined earlier in the file (so there are no cycles)."""
    seen: set[str] = set()
    for spec in params.values():
        if spec.formula is not None:
            try:
                inputs = formula_inputs(spec.formula)
                evaluate_formula(spec.formula, {name: 1.0 for name in inputs})
            except FormulaTooLarge as exc:
                raise ModelFileError(
                    f"the formula of parameter '{spec.name}' is too large: {exc}.", str(ctx.path), spec.line
                ) from None
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                raise ModelFileError(
                    f"the formula of parameter '{spec.name}' is not arithmetic (+ - * /) over parameter names: "
                    f"{spec.formula!r}.",
                    str(ctx.path),
                    spec.line,
                ) from None
            except ZeroDivisionError:
                pass
            for name in inputs:
                if name not in params:
                    raise ModelFileError(
                        f"the formula of parameter '{spec.name}' uses unknown parameter '{name}'."
                        + did_you_mean(name, params),
                        str(ctx.path),
                        spec.line,
                    )
                if name not in seen:
                    raise ModelFileError(
                        f"the formula of parameter '{spec.name}' uses '{name}', which is defined later in the file; "
                        "define inputs first.",
                        str(ctx.path),
                        spec.line,
                    )
        seen.add(spec.name)


# ---------------------------------------------------------------------------
# variables and table recipes
# ---------------------------------------------------------------------------
def _parse_age_map(ctx, raw, node, key, age_states, age_groups, params, what) -> AgeMap:
    """A parameter name, or a mapping of bins / bin groups to names covering every bin once."""
    if isinstance(raw, str):
        _check_param(ctx, raw, params, node, key, what)
        return AgeMap((raw,) * len(age_states))
    if not isinstance(raw, Mapping):
        ctx.fail(f"{what} must be a parameter name or a mapping of age bins to parameter names; got {raw!r}.", node, key)
    chosen: dict[str, str] = {}
    for group, name in raw.items():
        bins = age_groups.get(group)
        if bins is None:
            ctx.fail(
                f"{what} names unknown age bin or group '{group}'; allowed: "
                f"{sorted(age_groups)}." + did_you_mean(group, age_groups),
                raw,
                group,
            )
        if not isinstance(name, str):
            ctx.fail(f"{what}: the parameter for '{group}' must be a name; got {name!r}.", raw, group)
        _check_param(ctx, name, params, raw, group, what)
        for b in bins:
            if b in chosen:
                ctx.fail(f"{what} gives age bin '{b}' twice.", raw, group)
            chosen[b] = name
    missing = [b for b in age_states if b not in chosen]
    if missing:
        ctx.fail(f"{what} gives no parameter for age bin(s) {missing}.", raw)
    return AgeMap(tuple(chosen[b] for b in age_states))


def _check_param(ctx, name, params, node, key, what):
    if name not in params:
        ctx.fail(f"{what} uses unknown parameter '{name}'." + did_you_mean(name, params), node, key)


def _parse_causes_noisy_or(ctx, raw, node, var_name, age_states, age_groups, params, variables_raw):
    causes: dict[str, tuple[CauseRow, ...]] = {}
    if not isinstance(raw, Mapping) or not raw:
        ctx.fail(f"the table of '{var_name}' needs 'causes': a mapping of parent variables to parameters.", node)
    for cause, ref in raw.items():
        what = f"cause '{cause}' of '{var_name}'"
        rows: list[CauseRow] = []
        if isinstance(ref, list):
            for i, row in enumerate(ref):
                if not isinstance(row, Mapping) or "p" not in row:
                    ctx.fail(f"{what}: row {i + 1} needs 'p' (and optionally 'when').", ref)
                when = row.get("when", {}) or {}
                if not isinstance(when, Mapping):
                    ctx.fail(f"{what}: 'when' must map variables to states.", row, "when")
                for wvar in when:
                    if wvar not in variables_raw:
                        ctx.fail(f"{what}: 'when' names unknown variable '{wvar}'." + did_you_mean(wvar, variables_raw), when, wvar)
                rows.append(
                    CauseRow(
                        tuple((str(k), str(v)) for k, v in when.items()),
                        _parse_age_map(ctx, row["p"], row, "p", age_states, age_groups, params, what),
                    )
                )
            if rows and rows[-1].when:
                ctx.fail(f"{what}: the last row must have no 'when' (it applies otherwise).", ref)
        else:
            rows.append(CauseRow((), _parse_age_map(ctx, ref, raw, cause, age_states, age_groups, params, what)))
        causes[cause] = tuple(rows)
    return causes


def _parse_table(ctx, var_name, node, states, spec_ctx) -> tuple[dict, list[str]]:
    """Normalise a table recipe and return it with the parents it uses (age first)."""
    age_states, age_groups, params, groups, variables_raw = spec_ctx
    table = node.get("table")
    if not isinstance(table, Mapping):
        ctx.fail(f"variable '{var_name}' needs a 'table' mapping.", node)
    kind = table.get("kind")
    used_age = False
    parents: list[str] = []

    def amap(key, raw=None, what=None):
        nonlocal used_age
        m = _parse_age_map(
            ctx, table[key] if raw is None else raw, table, key, age_states, age_groups, params,
            what or f"'{key}' of '{var_name}'",
        )
        used_age |= m.varies_with_age
        return m

    def group_ref(raw, key, where):
        if not isinstance(raw, str) or raw not in groups:
            ctx.fail(
                f"{where} must name a categorical parameter (with states {list(states)}); got {raw!r}."
                + did_you_mean(str(raw), groups),
                table if key else None,
                key,
            )
        if tuple(groups[raw].states) != tuple(states) and set(groups[raw].states) != set(states):
            ctx.fail(f"{where}: parameter '{raw}' has states {list(groups[raw].states)}, not {list(states)}.", table, key)
        return raw

    if kind == "categorical":
        recipe = {"kind": kind, "group": group_ref(table.get("parameter"), "parameter", f"the table of '{var_name}'")}
    elif kind == "by_age":
        _binary(ctx, var_name, states, node)
        recipe = {"kind": kind, "present": amap("present")}
    elif kind == "condition":
        _binary(ctx, var_name, states, node)
        recipe = {"kind": kind, "rate": amap("rate")}
        trigger = table.get("trigger")
        if trigger is not None:
            if not isinstance(trigger, Mapping) or "variable" not in trigger or "p_given_condition" not in trigger:
                ctx.fail(f"the trigger of '{var_name}' needs 'variable' and 'p_given_condition'.", table, "trigger")
            tvar = trigger["variable"]
            if tvar not in variables_raw:
                ctx.fail(f"the trigger of '{var_name}' names unknown variable '{tvar}'.", trigger, "variable")
            recipe["trigger"] = tvar
            recipe["p_trigger"] = amap("p_given_condition", trigger["p_given_condition"], f"the trigger of '{var_name}'")
            parents.append(tvar)
        causes = {}
        for cause, ref in (table.get("causes") or {}).items():
            if cause not in variables_raw:
                ctx.fail(f"'{var_name}' names unknown cause '{cause}'." + did_you_mean(cause, variables_raw), table["causes"], cause)
            causes[cause] = amap("causes", ref, f"cause '{cause}' of '{var_name}'")
            parents.append(cause)
        recipe["causes"] = causes
    elif kind == "noisy_or":
        _binary(ctx, var_name, states, node)
        causes = _parse_causes_noisy_or(ctx, table.get("causes"), table, var_name, age_states, age_groups, params, variables_raw)
        for cause, rows in causes.items():
            if cause not in variables_raw:
                ctx.fail(f"'{var_name}' names unknown cause '{cause}'." + did_you_mean(cause, variables_raw), table["causes"], cause)
            if cause not in parents:
                parents.append(cause)
            for row in rows:
                used_age |= row.p.varies_with_age
                for wvar, _ in row.when:
                    if wvar not in parents:
                        parents.append(wvar)
        recipe = {"kind": kind, "leak": amap("leak"), "causes": causes}
    elif kind == "noisy_max":
        order = table.get("order")
        if not isinstance(order, list) or sorted(order) != sorted(states):
            ctx.fail(f"the noisy_max table of '{var_name}' needs 'order': the states {list(states)} from least to most dominant.", table, "order")
        leak = table.get("leak")
        if isinstance(leak, Mapping):
            leak_map = {}
            for group, ref in leak.items():
                if group not in age_groups:
                    ctx.fail(f"the leak of '{var_name}' names unknown age bin or group '{group}'.", leak, group)
                for b in age_groups[group]:
                    leak_map[b] = group_ref(ref, None, f"the leak of '{var_name}'")
            if set(leak_map) != set(age_states):
                ctx.fail(f"the leak of '{var_name}' must cover every age bin.", table, "leak")
            leak_names = tuple(leak_map[b] for b in age_states)
        else:
            leak_names = (group_ref(leak, "leak", f"the leak of '{var_name}'"),) * len(age_states)
        used_age |= len(set(leak_names)) > 1
        causes = {}
        for cause, ref in (table.get("causes") or {}).items():
            if cause not in variables_raw:
                ctx.fail(f"'{var_name}' names unknown cause '{cause}'." + did_you_mean(cause, variables_raw), table["causes"], cause)
            causes[cause] = group_ref(ref, None, f"cause '{cause}' of '{var_name}'")
            parents.append(cause)
        recipe = {"kind": kind, "order": tuple(order), "leak": leak_names, "causes": causes}
    else:
        ctx.fail(
            f"the table of '{var_name}' has unknown kind {kind!r}; allowed: "
            "categorical, by_age, condition, noisy_or, noisy_max.",
            table,
            "kind",
        )
    if used_age:
        parents.insert(0, "age")
    return recipe, parents


def _binary(ctx, var_name, states, node):
    if len(states) != 2:
        ctx.fail(f"variable '{var_name}' has {len(states)} states, but this table kind needs two.", node, "states")


# ---------------------------------------------------------------------------
# targets
# ---------------------------------------------------------------------------
def _read_targets(path: Path, evidence, variables, age_states, raw: dict[str, bytes], settings=None) -> tuple[TargetSpec, ...]:
    ctx = _Ctx(path)
    doc, raw["targets"] = read_yaml_bytes(path)
    block = ctx.require(doc, "targets", list, "the targets file")
    out = []
    seen = set()
    for node in block:
        tid = ctx.require(node, "id", str, "a target")
        if tid in seen:
            ctx.fail(f"target id '{tid}' appears twice.", node, "id")
        seen.add(tid)
        query = ctx.require(node, "query", Mapping, f"target '{tid}'")
        target = ctx.require(query, "target", str, f"the query of target '{tid}'")
        if target not in variables:
            ctx.fail(f"target '{tid}' queries unknown variable '{target}'." + did_you_mean(target, variables), query, "target")
        state = query.get("state", variables[target].states[-1])
        if state not in variables[target].states:
            ctx.fail(f"target '{tid}': '{target}' has no state '{state}'.", query, "state")
        ev = dict(query.get("evidence") or {})
        for var, st in ev.items():
            wanted = st if isinstance(st, list) else [st]
            if var not in variables or not wanted or any(x not in variables[var].states for x in wanted):
                ctx.fail(f"target '{tid}': evidence {var}={st} is not a variable and state of the model.", query, "evidence")
        age = query.get("age")
        if not (age is None or isinstance(age, (str, list)) or _is_number(age)):
            ctx.fail(f"target '{tid}': 'age' must be an age bin, a list of bins or years; got {age!r}.", query, "age")
        bins = _as_tuple(age) if isinstance(age, (str, list)) else ()
        for b in bins:
            if b not in age_states:
                ctx.fail(f"target '{tid}': unknown age bin '{b}'; allowed: {list(age_states)}.", query, "age")
        setting = query.get("setting")
        if setting is not None and setting not in (settings or {}):
            ctx.fail(
                f"target '{tid}': unknown setting {setting!r}; the model's settings are {sorted(settings or {})}.",
                query,
                "setting",
            )
        rng = ctx.require(node, "range", list, f"target '{tid}'")
        if len(rng) != 2 or not all(_is_number(x) for x in rng) or not rng[0] <= rng[1]:
            ctx.fail(f"target '{tid}': 'range' must be [low, high].", node, "range")
        sources = _as_tuple(node.get("source"))
        if not sources:
            ctx.fail(f"target '{tid}' needs a 'source' (evidence id).", node)
        for sid in sources:
            if sid not in evidence:
                ctx.fail(f"target '{tid}' cites unknown evidence id {sid!r}." + did_you_mean(str(sid), evidence), node, "source")
        out.append(
            TargetSpec(
                id=tid,
                means=str(node.get("means", "")),
                target=target,
                state=state,
                evidence=ev,
                age=list(age) if isinstance(age, list) else age,
                setting=setting,
                low=float(rng[0]),
                high=float(rng[1]),
                sources=sources,
                note=str(node.get("note", "")),
                line=line_of(node),
            )
        )
    return tuple(out)


# ---------------------------------------------------------------------------
# the model file
# ---------------------------------------------------------------------------
def _resolve_model_path(path: str | Path) -> Path:
    if not isinstance(path, (str, Path)):
        raise ModelFileError(f"A model is loaded from a directory or a model.yaml path. Got {path!r} instead.")
    path = Path(path)
    if path.is_dir():
        path = path / "model.yaml"
    return path


def _resolved(ctx: _Ctx, path: Path, node, key) -> Path:
    """The absolute path of a model file; symlink loops are reported, not raised as RuntimeError."""
    try:
        return path.resolve()
    except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop (Python < 3.13)
        ctx.fail(f"the path {str(path)!r} cannot be resolved ({exc}).", node, key)


def read_model(path: str | Path) -> ModelSpec:
    """Read and check a model directory or ``model.yaml``.

    Parameters
    ----------
    path : str or Path
        ``model.yaml``, or the directory holding it.

    Returns
    -------
    ModelSpec
        The checked description.

    Raises
    ------
    ModelFileError
        With file and line, for anything unreadable or inconsistent.
    """
    path = _resolve_model_path(path)
    try:
        return _read_model(path)
    except ModelFileError:
        raise
    except (TypeError, ValueError, KeyError, AttributeError, IndexError, RecursionError) as exc:
        # A safety net: every check above names its file and line; a malformed file that slips
        # past them is still reported as a model-file problem, never as a bare traceback.
        raise ModelFileError(
            f"the model files are malformed and cannot be read ({type(exc).__name__}: {exc}).", str(path)
        ) from exc


def _read_model(path: Path) -> ModelSpec:
    ctx = _Ctx(path)
    raw: dict[str, bytes] = {}
    doc, raw["model"] = read_yaml_bytes(path)
    if not isinstance(doc, Mapping):
        ctx.fail("a model file must be a mapping with 'model', 'age', 'files' and 'variables'.")
    meta = ctx.require(doc, "model", Mapping, "the model file")
    files_node = ctx.require(doc, "files", Mapping, "the model file")
    files = {}
    for key in ("parameters", "evidence", "targets"):
        rel = ctx.require(files_node, key, str, "'files'")
        files[key] = _resolved(ctx, path.parent / rel, files_node, key)
    files["model"] = _resolved(ctx, path, None, None)

    evidence = _read_evidence(files["evidence"], raw)
    params, groups = _read_parameters(files["parameters"], evidence, raw)
    _check_formulas(_Ctx(files["parameters"]), params)

    age = ctx.require(doc, "age", Mapping, "the model file")
    age_states = _names(ctx, ctx.require(age, "states", list, "'age'"), age, "states", "'age'")
    raw_bins = ctx.require(age, "bins_years", list, "'age'")
    if not all(_is_number(x) for x in raw_bins):
        ctx.fail(f"'bins_years' must be finite numbers of years; got {list(raw_bins)}.", age, "bins_years")
    bins = tuple(float(x) for x in raw_bins)
    if len(bins) != len(age_states) or any(b <= a for a, b in zip(bins, bins[1:])) or bins[0] != 0:
        ctx.fail(
            "'bins_years' must give one strictly increasing lower bound per age state, starting at 0; "
            f"got {list(raw_bins)}.",
            age,
            "bins_years",
        )
    age_groups: dict[str, tuple[str, ...]] = {s: (s,) for s in age_states}
    age_groups["all"] = age_states
    for gname, members in (age.get("groups") or {}).items():
        if not isinstance(members, list) or any(m not in age_states for m in members):
            ctx.fail(f"age group '{gname}' must list age bins from {list(age_states)}.", age["groups"], gname)
        age_groups[gname] = tuple(members)

    var_block = ctx.require(doc, "variables", Mapping, "the model file")
    spec_ctx = (age_states, age_groups, params, groups, var_block)
    variables: dict[str, VariableSpec] = {}
    for name, node in var_block.items():
        if not isinstance(name, str) or not name.isidentifier():
            ctx.fail(f"variable names must be identifiers (letters, digits, _); got {name!r}.", var_block, name)
        if not isinstance(node, Mapping):
            ctx.fail(f"variable '{name}' must be a mapping.", var_block, name)
        role = ctx.require(node, "role", str, f"variable '{name}'")
        if role not in ROLES:
            ctx.fail(f"variable '{name}' has unknown role '{role}'; allowed: {list(ROLES)}.", node, "role")
        states = _names(ctx, ctx.require(node, "states", list, f"variable '{name}'"), node, "states", f"variable '{name}'")
        if len(set(states)) != len(states) or len(states) < 2:
            ctx.fail(f"variable '{name}' needs at least two distinct states.", node, "states")
        if name == "age" and states != age_states:
            ctx.fail("the states of 'age' must be the age bins.", node, "states")
        recipe, parents = _parse_table(ctx, name, node, states, spec_ctx)
        declared = tuple(node.get("parents") or ())
        if set(declared) != set(parents) or len(declared) != len(parents):
            ctx.fail(
                f"variable '{name}' lists parents {list(declared)}, but its table uses {parents}.",
                node,
                "parents",
            )
        variables[name] = VariableSpec(
            name=name,
            role=role,
            label=str(node.get("label", name)),
            description=str(node.get("description", "")),
            states=states,
            parents=tuple(parents),
            table=recipe,
            line=line_of(node),
            residual=bool(node.get("residual", False)),
        )
        if variables[name].residual and role != "condition":
            ctx.fail(f"variable '{name}' is marked residual, but only conditions can be.", node, "residual")
    if "age" not in variables:
        ctx.fail("the model needs a variable 'age'.")
    _check_structure(ctx, var_block, variables, params, groups, files["parameters"])
    settings, default_setting, selection = _read_settings(ctx, doc, variables, age_states, age_groups, evidence)
    targets = _read_targets(files["targets"], evidence, variables, age_states, raw, settings)
    return ModelSpec(
        path=path.resolve().parent,
        name=str(meta.get("name", path.parent.name)),
        version=str(meta.get("version", "0")),
        title=str(meta.get("title", "")),
        population=str(meta.get("population", "")),
        intended_use=str(meta.get("intended_use", "")),
        age_states=age_states,
        age_bins_years=bins,
        age_groups=age_groups,
        variables=variables,
        parameters=params,
        groups=groups,
        evidence=evidence,
        targets=targets,
        files=files,
        gaps=tuple(str(g) for g in (meta.get("known_gaps") or ())),
        settings=settings,
        default_setting=default_setting,
        selection=selection,
        file_bytes=raw,
    )


def _read_settings(ctx, doc, variables, age_states, age_groups, evidence):
    """The optional ``settings`` block: named clinical settings and the rule for the default."""
    block = doc.get("settings")
    if block is None:
        return {}, None, ()
    if not isinstance(block, Mapping) or not isinstance(block.get("named"), Mapping):
        ctx.fail("'settings' must be a mapping with 'named' (name -> setting) and 'default'.", doc, "settings")
    settings: dict[str, SettingSpec] = {}
    for sname, node in block["named"].items():
        if not isinstance(node, Mapping):
            ctx.fail(f"setting '{sname}' must be a mapping.", block["named"], sname)
        ev = dict(node.get("evidence") or {})
        for var, state in ev.items():
            if var not in variables or state not in variables[var].states:
                ctx.fail(f"setting '{sname}': evidence {var}={state} is not a variable and state of the model.", node, "evidence")
        ages: tuple[str, ...] = ()
        for group in _as_tuple(node.get("ages")):
            if group not in age_groups:
                ctx.fail(f"setting '{sname}': unknown age group '{group}'; allowed: {sorted(age_groups)}.", node, "ages")
            ages += age_groups[group]
        sources = _as_tuple(node.get("source"))
        for sid in sources:
            if sid not in evidence:
                ctx.fail(f"setting '{sname}' cites unknown evidence id {sid!r}." + did_you_mean(str(sid), evidence), node, "source")
        settings[str(sname)] = SettingSpec(
            name=str(sname),
            label=str(node.get("label", sname)),
            description=str(node.get("description", "")),
            evidence=ev,
            ages=ages,
            sources=sources,
            line=line_of(node),
        )
    rule = block.get("default")
    if not isinstance(rule, Mapping):
        ctx.fail("'settings' needs 'default': {by_age: {age group: setting}, age_unknown: setting}.", block, "default")
    by_age: dict[str, str] = {}
    for group, sname in (rule.get("by_age") or {}).items():
        if group not in age_groups or sname not in settings:
            ctx.fail(f"settings default: {group} -> {sname} must map an age group to a named setting.", rule, "by_age")
        for b in age_groups[group]:
            by_age[b] = sname
    if set(by_age) != set(age_states):
        ctx.fail(f"settings default: 'by_age' must cover every age bin {list(age_states)}.", rule, "by_age")
    unknown = rule.get("age_unknown")
    chronic = rule.get("chronic_onset")
    for sname in (unknown, chronic):
        if sname is not None and sname not in settings:
            ctx.fail(f"settings default names unknown setting {sname!r}; allowed: {sorted(settings)}.", rule)
    if unknown is None:
        ctx.fail("settings default needs 'age_unknown' (the setting when no age is given).", rule)
    selection = tuple(_as_tuple(block.get("selection")))
    for var in selection:
        if var not in variables:
            ctx.fail(f"settings 'selection' names unknown variable '{var}'." + did_you_mean(var, variables), block, "selection")
    return settings, DefaultSetting(by_age=by_age, age_unknown=str(unknown), chronic_onset=chronic), selection


def _check_structure(ctx, var_block, variables, params, groups, params_path):
    """Parents exist, 'when' states exist, the graph is acyclic, every parameter is used by one table."""
    for var in variables.values():
        for parent in var.parents:
            if parent not in variables:
                ctx.fail(f"variable '{var.name}' has unknown parent '{parent}'.", var_block[var.name], "parents")
        recipe = var.table
        if recipe["kind"] == "noisy_or":
            for cause, rows in recipe["causes"].items():
                if variables[cause].states != ("absent", "present") and len(variables[cause].states) != 2:
                    ctx.fail(f"cause '{cause}' of '{var.name}' must be binary.", var_block[var.name], "table")
                for row in rows:
                    for wvar, wstate in row.when:
                        if wstate not in variables[wvar].states:
                            ctx.fail(
                                f"'when' in '{var.name}' gives {wvar}={wstate}, but '{wvar}' has states "
                                f"{list(variables[wvar].states)}.",
                                var_block[var.name],
                                "table",
                            )
        if recipe["kind"] == "condition" and "trigger" in recipe:
            trig = variables[recipe["trigger"]]
            if trig.table["kind"] != "by_age":
                ctx.fail(
                    f"the trigger of '{var.name}' ('{trig.name}') must have a by_age table, whose prevalence "
                    "is the reference for the condition's rates.",
                    var_block[var.name],
                    "table",
                )
    # acyclic: parents must come earlier in the file (a topological order)
    seen: set[str] = set()
    for var in variables.values():
        for parent in var.parents:
            if parent not in seen:
                ctx.fail(
                    f"variable '{var.name}' comes before its parent '{parent}'; list variables parents first "
                    "(this also rules out cycles).",
                    var_block[var.name],
                    "parents",
                )
        seen.add(var.name)
    used: dict[str, str] = {}
    for var in variables.values():
        for name in _recipe_parameters(var.table, groups):
            if name in used and used[name] != var.name:
                raise ModelFileError(
                    f"parameter '{name}' feeds the tables of both '{used[name]}' and '{var.name}'; "
                    "a parameter may feed one table only (give each its own parameter, citing the same source).",
                    str(params_path),
                    params[name].line,
                )
            used[name] = var.name
    inputs = set()
    for spec in params.values():
        if spec.formula:
            inputs |= set(formula_inputs(spec.formula))
    for name, spec in params.items():
        if name not in used and name not in inputs:
            raise ModelFileError(
                f"parameter '{name}' is defined but no table or formula uses it.", str(params_path), spec.line
            )


def _recipe_parameters(recipe: dict, groups: Mapping[str, GroupSpec]) -> list[str]:
    """All parameter names a table recipe reads (group members expanded)."""
    kind = recipe["kind"]
    names: list[str] = []

    def add_group(gname):
        names.extend(groups[gname].member(s) for s in groups[gname].states)

    if kind == "categorical":
        add_group(recipe["group"])
    elif kind == "by_age":
        names.extend(recipe["present"].names)
    elif kind == "condition":
        names.extend(recipe["rate"].names)
        if "p_trigger" in recipe:
            names.extend(recipe["p_trigger"].names)
        for amap in recipe["causes"].values():
            names.extend(amap.names)
    elif kind == "noisy_or":
        names.extend(recipe["leak"].names)
        for rows in recipe["causes"].values():
            for row in rows:
                names.extend(row.p.names)
    elif kind == "noisy_max":
        for g in set(recipe["leak"]):
            add_group(g)
        for g in recipe["causes"].values():
            add_group(g)
    return list(dict.fromkeys(names))


recipe_parameters = _recipe_parameters
