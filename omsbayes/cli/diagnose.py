"""``omsbayes diagnose``: the ranked differential of one case."""

from __future__ import annotations

from ..errors import CaseFileError, EvidenceError
from ._analysis import EVIDENCE_HELP
from ._common import load, parse_evidence, print_json, use_agg_backend

HELP = "rank the differential for one case"


def register(sub) -> None:
    p = sub.add_parser(
        "diagnose",
        help=HELP,
        description="Rank the differential diagnosis for one case. " + EVIDENCE_HELP,
    )
    p.add_argument("evidence", nargs="*", metavar="VAR=STATE", help="observed findings, tests and history")
    p.add_argument("--age", type=float, default=None, help="age in years (e.g. 1.5); omit if unknown")
    p.add_argument("--case", metavar="FILE", help="take age and evidence from a case file (with --id)")
    p.add_argument(
        "--id",
        metavar="ID",
        help="a case id in --case FILE (without --case: in the bundled public vignettes, see 'omsbayes evaluate')",
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--plot", metavar="PNG", help="also write the prior-vs-posterior plot to this file")
    p.add_argument(
        "--csv",
        metavar="FILE",
        help="diagnose a cohort instead: one case per row, columns named by variables (empty = not observed), "
        "an optional 'age' column in years and an optional 'id' column; writes each case's posteriors as CSV",
    )
    p.add_argument("--out", metavar="FILE", help="with --csv: write the posteriors to this file (default: stdout)")
    p.set_defaults(func=run)


def run(args) -> int:
    model = load(args)
    if args.csv and args.id:
        raise CaseFileError("--id chooses one case and --csv diagnoses every row of a file; give one or the other.")
    if args.csv:
        return run_cohort(model, args)
    evidence = parse_evidence(args.evidence)
    age = args.age
    if args.case and not args.id:
        raise CaseFileError("--case needs --id to choose a case from the file.")
    if args.id:
        case = _find_case(args.case, args.id)
        evidence = {**case.evidence, **evidence}
        age = case.age_years if age is None else age
    dx = model.diagnose(evidence, age=age)
    if args.plot:
        use_agg_backend()
        ax = dx.plot()
        ax.figure.savefig(args.plot)
    if args.json:
        print_json(dx.to_dict())
    else:
        print(dx.report())
    return 0


def _find_case(path: str | None, case_id: str):
    """The case ``case_id`` of the case file ``path`` (default: the bundled public vignettes)."""
    from ..cases import load_cases, load_public_vignettes
    from ..errors import did_you_mean

    cases = load_cases(path) if path else load_public_vignettes()
    if case_id not in cases.ids:
        where = path if path else "the bundled public vignettes (give --case FILE for your own)"
        raise CaseFileError(f"No case with id {case_id!r} in {where}." + did_you_mean(case_id, cases.ids))
    return cases[case_id]


def run_cohort(model, args) -> int:
    """``--csv``: the posteriors of every case of a cohort file, as CSV."""
    import sys

    import pandas as pd

    if args.evidence or args.age is not None or args.case or args.json or args.plot:
        raise EvidenceError("--csv diagnoses every row of the file; give evidence and ages in the file, not on the command line.")
    try:
        frame = pd.read_csv(args.csv, dtype=object, skipinitialspace=True)
    except (OSError, ValueError) as exc:
        raise CaseFileError(f"Cannot read the cohort {args.csv}: {exc}") from None
    if "id" in frame.columns:
        frame = frame.set_index("id")
    posteriors = model.diagnose_batch(frame, progress=sys.stderr.isatty())
    posteriors.index.name = frame.index.name or "row"
    posteriors.to_csv(args.out if args.out else sys.stdout)
    return 0
