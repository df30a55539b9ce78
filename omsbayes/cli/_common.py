"""Helpers shared by the subcommands: loading the model, parsing evidence, printing."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from ..errors import EvidenceError, OutputError
from ..evidence import Likelihood

__all__ = [
    "load",
    "parse_evidence",
    "print_json",
    "to_jsonable",
    "use_agg_backend",
    "output_dir",
    "save_figure",
    "seed",
    "positive_int",
    "years",
]


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
            # only finite numbers are probabilities: 'nan' or 'inf' stay text (refused as states, with a
            # hint), and VAR= (empty) means not observed, the one rule of omsbayes.evidence
            evidence[var] = number if math.isfinite(number) else value
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
    """The output directory, created if needed (:class:`OutputError` when it cannot be)."""
    out = Path(path or default)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"Cannot create the output directory {out}: {exc.strerror or exc}.") from None
    return out


def save_figure(figure, path: str, **options) -> Path:
    """Write a figure atomically; the format comes from the suffix (:class:`OutputError` for a bad one)."""
    from ..cohortio import atomic_path

    target = Path(path)
    formats = figure.canvas.get_supported_filetypes()
    suffix = target.suffix.lower().lstrip(".")
    if suffix not in formats:
        raise OutputError(
            f"Cannot write the plot {target}: the file name must end in one of "
            f"{', '.join('.' + f for f in sorted(formats))}. Got {target.suffix or 'no suffix'!r}."
        )
    with atomic_path(target) as temp:
        figure.savefig(temp, format=suffix, **options)
    return target


def seed(text: str) -> int:
    """argparse type of ``--seed``: an integer >= 0."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0 (a random seed); got {text!r}")
    return value


def years(text: str) -> float:
    """argparse type of ``--age``: a finite number (``nan`` is not an age; leave --age out if it is unknown)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a number of years (leave --age out if unknown); got {text!r}")
    return value


def positive_int(text: str) -> int:
    """argparse type of counts such as ``--draws``: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer; got {text!r}")
    return value
