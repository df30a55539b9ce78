"""``omsbayes demo``: the main job, on the public board-style case."""

from __future__ import annotations

from ._common import load, output_dir, save_figure, use_agg_backend



def register(sub) -> None:
    p = sub.add_parser(
        "demo",
        help="diagnose the public board-style case and write a plot",
        description=(
            "Diagnose the 18-month-old boy of the public board-style vignette (opsoclonus, myoclonus, "
            "ataxia, abdominal mass, raised urine catecholamines), print the differential and write a "
            "prior-vs-posterior plot."
        ),
    )
    p.add_argument("--out", metavar="DIR", default=None, help="output directory (default: omsbayes-output)")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..cases import DEMO_CASE, load_public_vignettes

    use_agg_backend()
    model = load(args)
    case = load_public_vignettes()[DEMO_CASE]
    print(f"Case {case.id}: {case.summary}\n")
    dx = model.diagnose(case.evidence, age=case.age_years, setting=case.setting)
    print(dx.report())
    out = output_dir(args.out) / "demo_prior_vs_posterior.png"
    save_figure(dx.plot().figure, out)
    print(f"\nWrote {out}")
    return 0
