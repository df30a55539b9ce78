"""``omsbayes plots``: the plot gallery, every plot kind for the demo case as PNG files."""

from __future__ import annotations

import sys

from ._common import load, output_dir, seed, use_agg_backend

DEFAULT_OUT = "omsbayes-output/plots"


def register(sub) -> None:
    p = sub.add_parser(
        "plots",
        help="write every plot kind for the demo case as PNG files",
        description=(
            "Compute every analysis for the public board-style case (an 18-month-old with OMS and a "
            "neuroblastoma) and write one PNG per plot kind: prior vs posterior, evidence trajectory, evidence "
            "impact, tornado, uncertainty intervals, value of information, what-if, age sweep, parameter sweep, "
            "network, natural frequencies and calibration. Analyses of what to do next use the case at "
            "presentation (its neurological signs, before the tumour was found)."
        ),
    )
    p.add_argument("--out", metavar="DIR", default=None, help=f"output directory (default: {DEFAULT_OUT})")
    p.add_argument("--draws", type=int, default=2000, help="parameter draws of the uncertainty plot (default 2000)")
    p.add_argument("--seed", type=seed, default=0, help="seed of the uncertainty draws (default 0)")
    p.add_argument("--only", nargs="+", metavar="NAME", default=None,
                   help="write only these plots (file names without .png, e.g. tornado_at_presentation)")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..errors import EvidenceError
    from ..gallery import write_gallery

    if args.draws < 1:
        raise EvidenceError(f"--draws must be a positive number of parameter draws. Got {args.draws} instead.")
    use_agg_backend()
    model = load(args)
    out = output_dir(args.out, default=DEFAULT_OUT)
    written = write_gallery(model, out, progress=sys.stderr.isatty(), draws=args.draws, rng=args.seed, only=args.only)
    for path in written:
        print(path)
    return 0
