"""``omsbayes sensitivity``: how far a posterior hangs on each parameter."""

from __future__ import annotations

from ._analysis import EVIDENCE_HELP, add_case_arguments, emit
from ._common import load, parse_evidence


def register(sub) -> None:
    p = sub.add_parser(
        "sensitivity",
        help="one-way sensitivity of a posterior to every parameter (tornado)",
        description=(
            "Exact one-way sensitivity of P(target present | evidence) to every parameter: the sensitivity "
            "function (a t + b) / (c t + d), its derivative, the posterior at both ends of each parameter's "
            "95% range and the nearest value at which the top diagnosis changes. " + EVIDENCE_HELP
        ),
    )
    add_case_arguments(p, plot="tornado plot")
    p.add_argument("--target", default="oms", help="the condition whose posterior is analysed (default: oms)")
    p.add_argument("--top", type=int, default=15, help="parameters listed and plotted (default 15; JSON has all)")
    p.set_defaults(func=run)


def run(args) -> int:
    model = load(args)
    result = model.sensitivity(parse_evidence(args.evidence), age=args.age, target=args.target)
    return emit(result, args, rows=args.top, top=args.top)
