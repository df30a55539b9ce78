"""``omsbayes voi``: which finding or test would change the diagnosis most."""

from __future__ import annotations

from ._analysis import EVIDENCE_HELP, add_case_arguments, emit
from ._common import load, parse_evidence


def register(sub) -> None:
    p = sub.add_parser(
        "voi",
        help="value of information: which finding or test next",
        description=(
            "Rank every unobserved finding and test by the expected reduction of the entropy over the "
            "conditions (sum of binary entropies, bits), with the expected change of the top posterior, the "
            "probability that the result changes the top diagnosis and the expected change of the log-odds "
            "between the top two. " + EVIDENCE_HELP
        ),
    )
    add_case_arguments(p, plot="bar plot")
    p.add_argument("--candidates", nargs="+", metavar="VAR", default=None, help="only these findings or tests")
    p.add_argument("--top", type=int, default=12, help="candidates listed and plotted (default 12; JSON has all)")
    p.set_defaults(func=run)


def run(args) -> int:
    model = load(args)
    result = model.value_of_information(parse_evidence(args.evidence), age=args.age, candidates=args.candidates)
    return emit(result, args, rows=args.top, top=args.top)
