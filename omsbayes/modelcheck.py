"""Validate a model directory: files, sources, tables, vocabulary, literature targets.

:func:`check_model` never raises for a bad model; it returns a
:class:`ModelCheck` listing every problem found (a file that cannot be read
stops the check at that problem, with file and line).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import ModelFileError
from .paths import models_dir
from .yamlio import read_yaml

__all__ = ["ModelCheck", "check_model", "vocabulary_problems", "summarize_model"]


@dataclass
class ModelCheck:
    """The outcome of :func:`check_model`.

    Attributes
    ----------
    path : Path
        The model checked.
    problems : list of str
        Every problem, each naming file and line where one is known.
    targets : pandas.DataFrame or None
        The literature targets with the model's values (when the model loads).
    summary : dict
        Counts (variables, parameters, expert estimates, evidence entries).
    """

    path: Path
    problems: list[str] = field(default_factory=list)
    targets: pd.DataFrame | None = None
    summary: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when no problem was found."""
        return not self.problems

    def report(self) -> str:
        lines = [f"Model: {self.path}"]
        if self.summary:
            s = self.summary
            lines.append(
                f"{s['name']} {s['version']}: {s['variables']} variables, {s['parameters']} parameters "
                f"({s['derived']} derived, {s['expert']} expert estimates), {s['evidence']} evidence entries"
            )
        if self.targets is not None:
            met = int(self.targets["met"].sum())
            lines.append(f"Literature targets met: {met}/{len(self.targets)}")
            for tid, row in self.targets.iterrows():
                mark = "ok  " if row["met"] else "FAIL"
                lines.append(f"  {mark} {tid:<40} {row['value']:.4g} in [{row['low']:.4g}, {row['high']:.4g}]")
        if self.problems:
            lines.append(f"{len(self.problems)} problem(s):")
            lines.extend(f"  - {p}" for p in self.problems)
        else:
            lines.append("OK: no problems found.")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {
            "path": str(self.path),
            "ok": self.ok,
            "problems": list(self.problems),
            "summary": dict(self.summary),
            "targets": None if self.targets is None else self.targets.reset_index().to_dict(orient="records"),
        }


def vocabulary_problems(model, vocabulary_path: Path | None = None) -> list[str]:
    """Differences between the model and the vocabulary contract (``models/vocabulary.yaml``).

    Every vocabulary variable must exist under its name with exactly its states.
    """
    path = vocabulary_path or (models_dir() / "vocabulary.yaml")
    voc = read_yaml(path)
    problems = []
    expected: dict[str, tuple[str, ...]] = {"age": tuple(voc["age"]["states"]), "onset": tuple(voc["onset"]["states"])}
    for section, states in (("conditions", ("absent", "present")), ("history", ("absent", "present")),
                            ("findings", ("absent", "present")), ("tests", ("negative", "positive"))):
        for name in voc[section]:
            expected[name] = states
    for name, states in expected.items():
        if name not in model.state_map:
            problems.append(f"vocabulary variable '{name}' is missing from the model.")
        elif tuple(model.states(name)) != states:
            problems.append(
                f"variable '{name}' has states {list(model.states(name))}; the vocabulary requires {list(states)}."
            )
    bins = [float(x) for x in voc["age"]["bins_years"]]
    if list(model.spec.age_bins_years) != bins:
        problems.append(f"age bins {list(model.spec.age_bins_years)} differ from the vocabulary's {bins}.")
    return problems


def summarize_model(model) -> dict:
    """Counts describing a model."""
    params = model.parameters
    return {
        "name": model.name,
        "version": model.version,
        "variables": len(model.variables),
        "parameters": len(params),
        "derived": int(params["derived"].notna().sum()),
        "expert": int(params["expert"].sum()),
        "evidence": len(model.spec.evidence),
        "content_hash": model.content_hash,
    }


def check_model(path: str | Path | None = None, vocabulary: bool = True) -> ModelCheck:
    """Check a model directory (default: the bundled model).

    Parameters
    ----------
    path : str or Path, optional
        A model directory or its ``model.yaml``.
    vocabulary : bool
        Also check the vocabulary contract.

    Returns
    -------
    ModelCheck
    """
    from .model import load_model
    from .targets import check_targets

    target = Path(path) if path is not None else models_dir() / "oms_ddx"
    result = ModelCheck(target)
    try:
        model = load_model(target)
        model.tables  # noqa: B018 - building the tables checks that they sum to 1
    except ModelFileError as exc:
        result.problems.append(str(exc))
        return result
    result.summary = summarize_model(model)
    if vocabulary:
        result.problems.extend(vocabulary_problems(model))
    for name, cpt in model.tables.items():
        if not np.allclose(cpt.sum(axis=0), 1.0, atol=1e-9):  # pragma: no cover - model.tables raises first
            result.problems.append(f"the table of '{name}' does not sum to 1.")
    targets = check_targets(model)
    result.targets = targets
    for tid, row in targets[~targets["met"]].iterrows():
        line = next((t.line for t in model.spec.targets if t.id == tid), None)
        where = f"{model.spec.files['targets']}:{line}: " if line else ""
        result.problems.append(
            f"{where}target '{tid}' not met: the model gives {row['value']:.4g}, outside [{row['low']:.4g}, {row['high']:.4g}]."
        )
    return result
