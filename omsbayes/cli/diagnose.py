"""``omsbayes diagnose``: the ranked differential of one case."""

from __future__ import annotations

from ..errors import CaseFileError, EvidenceError
from ._analysis import EVIDENCE_HELP, SETTING_HELP
from ._common import load, parse_evidence, print_json, save_figure, use_agg_backend, years

HELP = "rank the differential for one case"


def register(sub) -> None:
    p = sub.add_parser(
        "diagnose",
        help=HELP,
        description="Rank the differential diagnosis for one case. " + EVIDENCE_HELP,
    )
    p.add_argument("evidence", nargs="*", metavar="VAR=STATE", help="observed findings, tests and history")
    p.add_argument("--age", type=years, default=None, help="age in years (e.g. 1.5); omit if unknown")
    p.add_argument("--setting", metavar="NAME", help=SETTING_HELP)
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
    p.add_argument("--progress", action="store_true", help="with --csv: show a progress bar (default: only on a terminal)")
    p.add_argument("--strict-columns", action="store_true",
                   help="with --csv: refuse columns that are not variables of the model (default: ignore them with a warning)")
    p.set_defaults(func=run)


def run(args) -> int:
    model = load(args)
    if args.csv and args.id:
        raise CaseFileError("--id chooses one case and --csv diagnoses every row of a file; give one or the other.")
    if args.csv:
        return run_cohort(model, args)
    if args.out or args.progress or args.strict_columns:
        raise EvidenceError("--out, --progress and --strict-columns go with --csv.")
    evidence = parse_evidence(args.evidence)
    age = args.age
    if args.case and not args.id:
        raise CaseFileError("--case needs --id to choose a case from the file.")
    if args.id:
        case = _find_case(args.case, args.id)
        evidence = {**case.evidence, **evidence}
        age = case.age_years if age is None else age
        if case.setting is not None and "setting" not in evidence:
            evidence["setting"] = case.setting
    dx = model.diagnose(evidence, age=age)
    if args.plot:
        use_agg_backend()
        save_figure(dx.plot().figure, args.plot)
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

    if args.evidence or args.age is not None or args.case or args.json or args.plot:
        raise EvidenceError("--csv diagnoses every row of the file; give evidence and ages in the file, not on the command line.")
    from ..cohortio import read_cohort, write_atomic

    frame = read_cohort(args.csv, model, unknown_columns="error" if args.strict_columns else "warn")
    posteriors = model.diagnose_batch(frame, progress=args.progress or sys.stderr.isatty())
    posteriors.index.name = frame.index.name or "row"
    if args.out:
        write_atomic(args.out, posteriors.to_csv)  # a reader never sees half a file
    else:
        posteriors.to_csv(sys.stdout)
    return 0
