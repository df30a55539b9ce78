"""Evaluate the literature targets of a model (``targets.yaml``).

Each target is a query of the model (a posterior probability, possibly for a
population spread over several age bins) with the published range it must
fall in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .engine import posterior_arrays
from .evidence import NormalizedEvidence

if TYPE_CHECKING:  # pragma: no cover
    from .model import DiagnosticModel
    from .modelfile import TargetSpec

__all__ = ["evaluate_target", "check_targets"]


def _target_evidence(model: DiagnosticModel, target: TargetSpec) -> NormalizedEvidence:
    hard: dict[str, str] = {}
    soft: dict[str, np.ndarray] = {}
    for var, state in target.evidence.items():
        if isinstance(state, list):
            soft[var] = np.array([1.0 if s in state else 0.0 for s in model.states(var)])
        else:
            hard[var] = state
    if target.setting is not None:  # without one, a target is a population figure
        hard.update(model.spec.settings[target.setting].evidence)
    age = target.age
    age_years = None
    age_bin = None
    if isinstance(age, list):
        soft["age"] = np.array([1.0 if s in age else 0.0 for s in model.age_states])
    elif isinstance(age, str):
        hard["age"] = age
        age_bin = age
    elif age is not None:
        return model.normalize({**hard, **{k: dict(zip(model.states(k), v)) for k, v in soft.items()}}, float(age))
    return NormalizedEvidence(hard=hard, soft=soft, age_years=age_years, age_bin=age_bin, setting=target.setting)


def evaluate_target(model: DiagnosticModel, target: TargetSpec) -> float:
    """The model's value of one target query."""
    evidence = _target_evidence(model, target)
    arrays, _ = posterior_arrays(model, [target.target], evidence)
    return float(arrays[target.target][model.states(target.target).index(target.state)])


def check_targets(model: DiagnosticModel) -> pd.DataFrame:
    """Every literature target with the model's value and whether it is met.

    Returns
    -------
    pandas.DataFrame
        Indexed by target id, with ``means``, ``value``, ``low``, ``high``,
        ``met`` and ``source``.
    """
    rows = []
    for target in model.spec.targets:
        value = evaluate_target(model, target)
        rows.append(
            {
                "target": target.id,
                "means": target.means,
                "setting": target.setting or "general_population",
                "value": value,
                "low": target.low,
                "high": target.high,
                "met": bool(target.low <= value <= target.high),
                "source": ", ".join(target.sources),
            }
        )
    return pd.DataFrame(rows).set_index("target")
