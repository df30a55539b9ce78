"""``omsbayes evaluate``: metrics of the model on a case file."""

from __future__ import annotations

from ._common import load, positive_int, print_json, save_figure, seed, use_agg_backend


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
    p.add_argument(
        "--intervals",
        action="store_true",
        help="also print 95%% bootstrap intervals of the overall metrics (cases resampled with replacement)",
    )
    p.add_argument("--draws", type=positive_int, default=2000, help="bootstrap resamples for --intervals (default 2000)")
    p.add_argument("--seed", type=seed, default=0, help="seed of the bootstrap resampling (default 0)")
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
    intervals = result.intervals(draws=args.draws, seed=args.seed) if args.intervals else None
    if args.json:
        data = result.to_dict()
        if intervals is not None:
            data["intervals"] = {m: {k: float(v) for k, v in row.items()} for m, row in intervals.iterrows()}
            data["intervals_settings"] = {"draws": args.draws, "seed": args.seed, "level": 0.95}
        print_json(data)
    else:
        print(result.report())
        if intervals is not None:
            print(f"\n95% bootstrap intervals ({args.draws} resamples of the {len(result.cases)} cases, seed {args.seed}):")
            print(intervals.to_string(float_format=lambda x: f"{x:.3f}"))
    return 0
