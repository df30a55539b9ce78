"""``omsbayes evaluate``: metrics of the model on a case file."""

from __future__ import annotations

from ._common import load, print_json, save_figure, use_agg_backend


def register(sub) -> None:
    p = sub.add_parser(
        "evaluate",
        help="score the model on a case file",
        description=(
            "Diagnose every case of a file (each in its own clinical setting, when it names one) and print "
            "top-1, top-3, MRR, Brier score and log loss overall, per primary diagnosis, for children and "
            "adults and per setting, with the calibration table."
        ),
    )
    p.add_argument("file", nargs="?", default=None, help="case file (default: the bundled public vignettes)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--plot", metavar="PNG", help="also write the calibration plot to this file")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..cases import load_cases, load_public_vignettes
    from ..evaluation import evaluate

    model = load(args)
    cases = load_public_vignettes() if args.file is None else load_cases(args.file, model=model)
    result = evaluate(model, cases)
    if args.plot:
        use_agg_backend()
        save_figure(result.plot().figure, args.plot)
    if args.json:
        print_json(result.to_dict())
    else:
        print(result.report())
    return 0
