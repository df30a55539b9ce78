"""``omsbayes uncertainty``: how uncertain the posterior is, given the uncertainty of every parameter."""

from __future__ import annotations

from ._analysis import EVIDENCE_HELP, add_case_arguments, emit
from ._common import load, parse_evidence, positive_int, seed


def register(sub) -> None:
    p = sub.add_parser(
        "uncertainty",
        help="posterior intervals over draws of every parameter (second-order)",
        description=(
            "Draw every parameter from its uncertainty distribution, diagnose the case for each draw and "
            "report per condition the point estimate, mean, median, 90% and 95% intervals, and how often "
            "the top diagnosis differs from the point estimate's. The same --seed gives identical results. "
            + EVIDENCE_HELP
        ),
    )
    add_case_arguments(p, plot="interval plot")
    p.add_argument("--draws", type=positive_int, default=2000, help="number of parameter draws (default 2000)")
    p.add_argument("--seed", type=seed, default=None, help="random seed (default: fresh entropy)")
    p.add_argument("--no-progress", action="store_true", help="do not show a progress bar")
    p.set_defaults(func=run)


def run(args) -> int:
    model = load(args)
    result = model.uncertainty(
        parse_evidence(args.evidence),
        age=args.age,
        draws=args.draws,
        rng=args.seed,
        progress=False if args.no_progress else None,
    )
    return emit(result, args)
