"""``omsbayes whatif``: posteriors under changed findings, ages or parameters; sweeps; evidence impact."""

from __future__ import annotations

from ..errors import EvidenceError
from ._analysis import EVIDENCE_HELP, add_case_arguments, emit
from ._common import load, parse_evidence


def register(sub) -> None:
    p = sub.add_parser(
        "whatif",
        help="what-if scenarios, sweeps (age, parameter, evidence order) and evidence impact",
        description=(
            "Answer a case under named scenarios, e.g. --scenario 'no mass' abdominal_mass= "
            "--scenario adult age=30 --scenario 'rare NB' neuroblastoma.incidence.toddler=1e-6 "
            "(VAR= drops a finding; a dotted name is a parameter). Or sweep: --sweep-age, "
            "--sweep-parameter NAME [--factors ...|--values ...], --trajectory [ORDER ...]; "
            "or --impact for what each observed item contributes. " + EVIDENCE_HELP
            + " The tokens after --scenario NAME are that scenario's changes, not evidence."
        ),
    )
    add_case_arguments(p, plot="plot")
    p.add_argument(
        "--scenario",
        nargs="+",
        action="append",
        metavar=("NAME", "CHANGE"),
        help="a named scenario and its changes (VAR=STATE, VAR=, age=YEARS, PARAMETER=VALUE); repeatable",
    )
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--sweep-age", action="store_true", help="posterior of each condition in every age bin")
    mode.add_argument("--sweep-parameter", metavar="NAME", help="a parameter or pattern (neuroblastoma.incidence.*)")
    mode.add_argument("--trajectory", nargs="*", metavar="VAR", default=None, help="add the findings one by one (in this order)")
    mode.add_argument("--impact", action="store_true", help="posteriors without / with each item flipped, and its LR")
    p.add_argument("--factors", type=float, nargs="+", help="with --sweep-parameter: multiply by these factors")
    p.add_argument("--values", type=float, nargs="+", help="with --sweep-parameter: set to these values")
    p.set_defaults(func=run)


def _scenarios(specs) -> dict:
    scenarios = {}
    for spec in specs or []:
        name, *changes = spec
        if not changes:
            raise EvidenceError(f"Scenario {name!r} lists no change; write e.g. --scenario {name!r} abdominal_mass=absent.")
        parsed = parse_evidence(changes, age_years=True)
        scenarios[name] = {k: (None if v == "" else v) for k, v in parsed.items()}
    return scenarios


def run(args) -> int:
    model = load(args)
    evidence = parse_evidence(args.evidence)
    modes = [args.sweep_age, args.sweep_parameter is not None, args.trajectory is not None, args.impact]
    if args.scenario and any(modes):
        raise EvidenceError("Give either --scenario or one of --sweep-age, --sweep-parameter, --trajectory, --impact.")
    if (args.factors or args.values) and args.sweep_parameter is None:
        raise EvidenceError("--factors and --values go with --sweep-parameter.")
    if args.sweep_age:
        if args.age is not None:
            raise EvidenceError("--sweep-age varies the age; do not give --age.")
        result = model.sweep_age(evidence)
    elif args.sweep_parameter is not None:
        result = model.sweep_parameter(
            evidence, args.sweep_parameter, values=args.values, factors=args.factors, age=args.age
        )
    elif args.trajectory is not None:
        result = model.evidence_trajectory(evidence, order=args.trajectory or None, age=args.age)
    elif args.impact:
        result = model.evidence_impact(evidence, age=args.age)
    else:
        if not args.scenario:
            raise EvidenceError(
                "whatif needs --scenario NAME CHANGE ... or one of --sweep-age, --sweep-parameter, --trajectory, --impact."
            )
        result = model.what_if(evidence, _scenarios(args.scenario), age=args.age)
    return emit(result, args)
