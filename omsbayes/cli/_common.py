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
    "EVIDENCE_SYNTAX",
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


#: How evidence is written on the command line (shared by every command's help).
EVIDENCE_SYNTAX = (
    "Evidence is written variable=state (opsoclonus=present); variable~0.7 (after all the evidence, the "
    "finding is present with probability 0.7: Jeffrey's rule); variable=0.7 (an uncertain report weighed as "
    "likelihoods 0.3:0.7 for absent:present, i.e. a likelihood ratio of 7:3 = 2.33, which moves even odds to "
    "0.7 but leaves the finding's posterior to the rest of the evidence); or variable=lr:5 (a report with "
    "likelihood ratio 5). The age goes in --age YEARS."
)


def parse_evidence(tokens: list[str], age_years: bool = False) -> dict:
    """``var=state``, ``var~0.7`` (probability present), ``var=0.7`` (likelihoods 0.3:0.7) or ``var=lr:5`` tokens.

    ``age_years=True`` (scenario changes) reads ``age=30`` as an age in years;
    otherwise it is refused with a pointer to ``--age``.

    Raises
    ------
    EvidenceError
        For a token without ``=`` or ``~``, a number that is not a probability
        after ``~``, or the age given as ``age=YEARS`` outside a scenario.
    """
    from ..softevidence import Marginal

    evidence: dict = {}
    for token in tokens:
        tilde = "~" in token and ("=" not in token or token.index("~") < token.index("="))
        if tilde:
            var, value = (part.strip() for part in token.split("~", 1))
            try:
                evidence[var] = Marginal(float(value))
            except ValueError:
                raise EvidenceError(
                    f"After '~' comes the probability that {var} is present, as in {var}~0.7; got {token!r}."
                ) from None
            continue
        if "=" not in token:
            raise EvidenceError(
                f"Evidence must be written variable=state (e.g. opsoclonus=present) or variable~probability "
                f"(opsoclonus~0.7); got {token!r}."
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
            if var == "age" and not age_years:
                raise EvidenceError(f"Give the age in years with --age {value}, not as evidence {token!r}.")
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


def _int_at_least(text: str, low: int, what: str) -> int:
    """An integer >= ``low`` from a command-line word, or argparse's one-line error naming ``what``."""
    try:
        value = int(text)
    except ValueError:
        value = low - 1
    if value < low:
        raise argparse.ArgumentTypeError(f"must be {what}; got {text!r}")
    return value


def seed(text: str) -> int:
    """argparse type of ``--seed``: an integer >= 0."""
    return _int_at_least(text, 0, "an integer >= 0 (a random seed)")


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
    return _int_at_least(text, 1, "a positive integer")
