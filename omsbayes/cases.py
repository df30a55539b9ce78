"""Case files: published vignettes encoded in the model's vocabulary.

The format (see ``omsbayes/datasets/public_vignettes.yaml``)::

    version: 1
    cases:
    - id: pub-board-18mo-oms-neuroblastoma
      source: where the case was published
      summary: one paragraph
      age_years: 1.5
      evidence: {opsoclonus: present, ataxia: present, ...}
      diagnosis: [oms, neuroblastoma]     # every condition the case has
      primary: oms                        # the one to rank first
      difficulty: easy                    # optional: easy / moderate / hard
      setting: paediatric_acute           # optional: where the patient was seen (passed to the model)
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import CaseFileError, EvidenceError, did_you_mean
from .paths import datasets_dir
from .yamlio import line_of, read_yaml

if TYPE_CHECKING:  # pragma: no cover
    from .model import DiagnosticModel

__all__ = ["Case", "CaseSet", "load_cases", "load_public_vignettes", "DEMO_CASE"]

#: The public board-style vignette used by ``omsbayes demo`` and the plot gallery.
DEMO_CASE = "pub-board-18mo-oms-neuroblastoma"


@dataclass(frozen=True)
class Case:
    """One encoded case."""

    id: str
    age_years: float | None
    evidence: dict
    diagnosis: tuple[str, ...]
    primary: str
    source: str = ""
    summary: str = ""
    difficulty: str = ""
    setting: str | None = None
    line: int | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class CaseSet:
    """The cases of one file, in file order."""

    cases: tuple[Case, ...]
    path: Path | None = None

    def __iter__(self) -> Iterator[Case]:
        return iter(self.cases)

    def __len__(self) -> int:
        return len(self.cases)

    def __getitem__(self, key: int | str) -> Case:
        if isinstance(key, str):
            for case in self.cases:
                if case.id == key:
                    return case
            raise KeyError(f"No case with id {key!r}." + did_you_mean(key, [c.id for c in self.cases]))
        return self.cases[key]

    @property
    def ids(self) -> list[str]:
        """The case ids in file order."""
        return [c.id for c in self.cases]


def _fail(path: Path, node, key: str | None, message: str):
    line = line_of(node, key)
    where = f"{path}:{line}: " if line is not None else f"{path}: "
    raise CaseFileError(where + message)


def load_cases(path: str | Path, model: DiagnosticModel | None = None) -> CaseSet:
    """Read a case file.

    Parameters
    ----------
    path : str or Path
        A YAML case file in the format above.
    model : DiagnosticModel, optional
        When given, every evidence item, age and diagnosis is checked against
        the model's variables and states.

    Returns
    -------
    CaseSet

    Raises
    ------
    CaseFileError
        For a missing file, invalid YAML or a malformed case, with file and line.
    """
    path = Path(path)
    doc = read_yaml(path, error=CaseFileError)
    if not isinstance(doc, Mapping) or not isinstance(doc.get("cases"), list):
        _fail(path, doc, None, "a case file must be a mapping with a 'cases' list.")
    cases: list[Case] = []
    seen: set[str] = set()
    for i, node in enumerate(doc["cases"]):
        if not isinstance(node, Mapping):
            _fail(path, doc["cases"], None, f"case {i + 1} must be a mapping.")
        cid = node.get("id")
        if not isinstance(cid, str) or not cid:
            _fail(path, node, None, f"case {i + 1} needs an 'id' (a non-empty string).")
        if cid in seen:
            _fail(path, node, "id", f"case id '{cid}' appears twice.")
        seen.add(cid)
        age = node.get("age_years")
        if age is not None and (isinstance(age, bool) or not isinstance(age, (int, float)) or not math.isfinite(age)):
            _fail(path, node, "age_years", f"case '{cid}': 'age_years' must be a number of years; got {age!r}.")
        evidence = node.get("evidence", {}) or {}
        if not isinstance(evidence, Mapping):
            _fail(path, node, "evidence", f"case '{cid}': 'evidence' must map variables to states.")
        for var, value in evidence.items():
            plain = value is None or (isinstance(value, (str, int, float)) and not isinstance(value, bool))
            if not isinstance(var, str) or not plain:
                booleans = isinstance(value, bool) or isinstance(var, bool)
                hint = " YAML reads yes/no/on/off as booleans: write the state name, in quotes if need be." if booleans else ""
                _fail(
                    path,
                    evidence,
                    var if isinstance(var, str) else None,
                    f"case '{cid}': evidence {var!r}: {value!r} must be a variable and a state name or a probability.{hint}",
                )
        diagnosis = node.get("diagnosis")
        if isinstance(diagnosis, str):
            diagnosis = [diagnosis]
        if not isinstance(diagnosis, list) or not diagnosis or not all(isinstance(d, str) for d in diagnosis):
            _fail(path, node, "diagnosis", f"case '{cid}': 'diagnosis' must list at least one condition.")
        primary = node.get("primary", diagnosis[0])
        if primary not in diagnosis:
            _fail(path, node, "primary", f"case '{cid}': primary '{primary}' is not in its diagnosis {diagnosis}.")
        setting = node.get("setting")
        if setting is not None and (not isinstance(setting, str) or not setting):
            _fail(path, node, "setting", f"case '{cid}': 'setting' must be the name of a clinical setting; got {setting!r}.")
        case = Case(
            id=cid,
            age_years=None if age is None else float(age),
            evidence=dict(evidence),
            diagnosis=tuple(diagnosis),
            primary=primary,
            source=str(node.get("source", "")),
            summary=str(node.get("summary", "")),
            difficulty=str(node.get("difficulty", "")),
            setting=setting,
            line=line_of(node),
        )
        if model is not None:
            _check_against_model(path, node, case, model)
        cases.append(case)
    return CaseSet(tuple(cases), path)


def _check_against_model(path: Path, node, case: Case, model: DiagnosticModel) -> None:
    try:
        model.normalize(case.evidence, case.age_years, what="load_cases")
    except EvidenceError as exc:
        _fail(path, node, "evidence", f"case '{case.id}': {exc}")
    for condition in case.diagnosis:
        if condition not in model.conditions:
            _fail(
                path,
                node,
                "diagnosis",
                f"case '{case.id}': '{condition}' is not a condition of the model."
                + did_you_mean(condition, model.conditions),
            )


def load_public_vignettes() -> CaseSet:
    """The bundled public vignettes: published and teaching cases encoded in the vocabulary.

    Each case names its source (journal case reports, Eurorad, teaching
    vignettes); see the ``source`` field.
    """
    return load_cases(datasets_dir() / "public_vignettes.yaml")
