"""The ``omsbayes`` command line (also ``python -m omsbayes``).

Each subcommand lives in its own module of this package with a
``register(subparsers)`` function; the commands print results computed by the
library and compute nothing of their own.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import warnings

from .._version import __version__
from ..errors import OmsBayesError, OmsBayesWarning, OutputError

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
        epilog=EXIT_STATUS_HELP,
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


#: Exit statuses of the command line (also listed by ``omsbayes --help``).
EXIT_OK, EXIT_CHECK_FAILED, EXIT_INPUT_ERROR, EXIT_OUTPUT_ERROR, EXIT_INTERRUPTED = 0, 1, 2, 3, 130

EXIT_STATUS_HELP = (
    "Exit status: 0 success; 1 'model check' found problems; 2 invalid input or usage (bad arguments, "
    "evidence, model, case or cohort file: one line on stderr saying what and where); 3 a result, plot or "
    "output directory cannot be written; 130 interrupted. Output files are written atomically (a temporary file "
    "renamed into place), so a failed run leaves no half-written file."
)


def _warning_line(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings as one line on stderr, like errors (not Python's file:line form)."""
    print(f"omsbayes: warning: {message}", file=sys.stderr)


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
    if getattr(args, "setting", None):  # --setting NAME is the evidence item setting=NAME
        evidence.append(f"setting={args.setting}")
    args.evidence = evidence
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status (see :data:`EXIT_STATUS_HELP`)."""
    parser = build_parser()
    args = _parse(parser, argv)
    with warnings.catch_warnings():
        warnings.showwarning = _warning_line
        warnings.simplefilter("always", OmsBayesWarning)  # the command line shows its warnings, once each
        try:
            return int(args.func(args) or 0)
        except OutputError as exc:
            print(f"omsbayes: error: {exc}", file=sys.stderr)
            return EXIT_OUTPUT_ERROR
        except OmsBayesError as exc:
            print(f"omsbayes: error: {exc}", file=sys.stderr)
            return EXIT_INPUT_ERROR
        except BrokenPipeError:  # pragma: no cover - output piped into head
            return EXIT_OK
        except OSError as exc:  # a file a command had to read or write (export, card): one line, no traceback
            where = f" {exc.filename}" if exc.filename else ""
            print(f"omsbayes: error: cannot read or write{where}: {exc.strerror or exc}.", file=sys.stderr)
            return EXIT_OUTPUT_ERROR
        except KeyboardInterrupt:
            print("omsbayes: interrupted", file=sys.stderr)
            return EXIT_INTERRUPTED
