"""Arguments and output shared by the analysis commands (sensitivity, uncertainty, voi, whatif)."""

from __future__ import annotations

from ._common import EVIDENCE_SYNTAX, print_json, save_figure, use_agg_backend, years

__all__ = ["add_case_arguments", "emit"]

EVIDENCE_HELP = EVIDENCE_SYNTAX + " Evidence may come before, between or after the options."


SETTING_HELP = (
    "clinical setting: general_population, paediatric_acute, adult_acute, neurology_referral or known_cancer "
    "(default: the acute setting of the age group, neurology_referral for a chronic onset; 'omsbayes model show')"
)


def add_case_arguments(p, plot: str) -> None:
    """The case (evidence, --age) and the output options (--json, --plot) of an analysis command."""
    p.add_argument("evidence", nargs="*", metavar="VAR=STATE", help="observed findings, tests and history")
    p.add_argument("--age", type=years, default=None, help="age in years (e.g. 1.5); omit if unknown")
    p.add_argument("--setting", metavar="NAME", help=SETTING_HELP)
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--plot", metavar="PNG", help=f"also write the {plot} to this file")


def emit(result, args, rows: int | None = None, **plot_options) -> int:
    """Write the plot if asked, then print the result as JSON or as a table."""
    if args.plot:
        use_agg_backend()
        save_figure(result.plot(**plot_options).figure, args.plot, bbox_inches="tight")
    if args.json:
        print_json(result.to_dict())
    else:
        print(result.report(rows=rows))
    return 0
