"""The ``omsbayes`` command line (also ``python -m omsbayes``).

Each subcommand lives in its own module of this package with a
``register(subparsers)`` function; the commands print results computed by the
library and compute nothing of their own.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from .._version import __version__
from ..errors import OmsBayesError

__all__ = ["main", "build_parser"]

#: Subcommand modules, in the order ``--help`` lists them.
COMMAND_MODULES = (
    "diagnose", "evaluate", "model", "demo", "plots", "sensitivity", "uncertainty", "voi", "whatif", "explorer",
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="omsbayes",
        description=(
            "Bayesian differential diagnosis of opsoclonus-myoclonus syndrome. "
            "A research and teaching tool, not a medical device."
        ),
    )
    parser.add_argument("--version", action="version", version=f"omsbayes {__version__}")
    parser.add_argument(
        "--model",
        metavar="PATH",
        default=None,
        help="model directory or model.yaml (default: the bundled OMS model)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(f".{name}", __name__).register(sub)
    return parser


#: List options whose values never contain "=" or "~": such a token after them is evidence.
_NAME_LISTS = ("candidates", "trajectory")


def _is_evidence(token: str) -> bool:
    return not token.startswith("-") and ("=" in token or "~" in token)


def _parse(parser: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    """Parse with evidence allowed anywhere: before, between or after the options.

    argparse gives a ``nargs="*"`` positional only its first run of tokens, and a
    list option swallows the evidence that follows it; both are moved back
    into ``evidence`` here.
    """
    args, extra = parser.parse_known_args(argv)
    if not hasattr(args, "evidence"):
        if extra:
            parser.error("unrecognized arguments: " + " ".join(extra))
        return args
    stray = [t for t in extra if not _is_evidence(t)]
    if stray:
        parser.error("unrecognized arguments: " + " ".join(stray))
    evidence = list(args.evidence) + extra
    for name in _NAME_LISTS:
        values = getattr(args, name, None)
        if values:
            evidence += [t for t in values if _is_evidence(t)]
            kept = [t for t in values if not _is_evidence(t)]
            if name == "candidates" and not kept:
                parser.error("--candidates needs at least one variable name (evidence goes elsewhere)")
            setattr(args, name, kept)
    args.evidence = evidence
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status (0 ok, 1 check failed, 2 error)."""
    parser = build_parser()
    args = _parse(parser, argv)
    try:
        return int(args.func(args) or 0)
    except OmsBayesError as exc:
        print(f"omsbayes: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # pragma: no cover - output piped into head
        return 0
