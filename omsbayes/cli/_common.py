"""Helpers shared by the subcommands: loading the model, parsing evidence, printing."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

from ..errors import EvidenceError
from ..evidence import Likelihood

__all__ = ["load", "parse_evidence", "print_json", "to_jsonable", "use_agg_backend", "output_dir"]


def load(args):
    """The model named by ``--model`` (or the bundled one)."""
    from ..model import load_model

    return load_model(args.model)


def parse_evidence(tokens: list[str]) -> dict:
    """``var=state``, ``var=0.7`` (probability present) or ``var=lr:5`` (likelihood ratio) tokens.

    Raises
    ------
    EvidenceError
        For a token without ``=``.
    """
    evidence: dict = {}
    for token in tokens:
        if "=" not in token:
            raise EvidenceError(
                f"Evidence must be written variable=state (e.g. opsoclonus=present); got {token!r}."
            )
        var, value = (part.strip() for part in token.split("=", 1))
        if value.lower().startswith("lr:"):
            try:
                evidence[var] = Likelihood.ratio(float(value[3:]))
            except ValueError:
                raise EvidenceError(f"A likelihood ratio must be a number, as in {var}=lr:5; got {value!r}.") from None
            continue
        try:
            number = float(value)
        except ValueError:
            evidence[var] = value
        else:
            evidence[var] = number
    return evidence


def to_jsonable(obj):
    """Make numpy and pandas scalars, NaN and paths JSON-safe."""
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "item") and not isinstance(obj, (str, bytes)):
        try:
            obj = obj.item()
        except (ValueError, AttributeError):
            pass
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def print_json(data) -> None:
    """Print ``data`` as indented JSON to stdout."""
    json.dump(to_jsonable(data), sys.stdout, indent=2)
    sys.stdout.write("\n")


def use_agg_backend() -> None:
    """Draw without a display (the CLI only writes files)."""
    import matplotlib

    matplotlib.use("Agg")


def output_dir(path: str | None, default: str = "omsbayes-output") -> Path:
    """The output directory, created if needed."""
    out = Path(path or default)
    out.mkdir(parents=True, exist_ok=True)
    return out
