"""``omsbayes model``: check and describe model files."""

from __future__ import annotations

from ._common import print_json


def register(sub) -> None:
    p = sub.add_parser("model", help="check or describe a model file", description="Check or describe a model file.")
    msub = p.add_subparsers(dest="model_command", metavar="ACTION")
    msub.required = True
    check = msub.add_parser(
        "check",
        help="validate a model (files, sources, tables, vocabulary, literature targets)",
        description=(
            "Validate a model: parse errors with file and line, unknown evidence ids, parameters without a "
            "source, tables that do not sum to 1, vocabulary variables, literature targets. Exit 1 if any fails."
        ),
    )
    check.add_argument("path", nargs="?", default=None, help="model directory or model.yaml (default: bundled)")
    check.add_argument("--json", action="store_true")
    check.set_defaults(func=run_check)
    show = msub.add_parser("show", help="summarise variables, parameters and sources")
    show.add_argument("path", nargs="?", default=None, help="model directory or model.yaml (default: bundled)")
    show.add_argument("--json", action="store_true")
    show.add_argument("--parameters", action="store_true", help="list every parameter")
    show.set_defaults(func=run_show)


def _path(args):
    return args.path if args.path is not None else args.model


def run_check(args) -> int:
    from ..modelcheck import check_model

    result = check_model(_path(args))
    if args.json:
        print_json(result.to_dict())
    else:
        print(result.report())
    return 0 if result.ok else 1


def run_show(args) -> int:
    from ..model import load_model
    from ..modelcheck import summarize_model

    model = load_model(_path(args))
    params = model.parameters
    summary = summarize_model(model)
    roles = {}
    for name in model.variables:
        roles.setdefault(model.role(name), []).append(name)
    used_sources = sorted({s.strip() for v in params["source"] for s in str(v).split(",") if s.strip() in model.spec.evidence})
    if args.json:
        print_json(
            {
                "summary": summary,
                "population": model.spec.population,
                "variables": {
                    name: {"role": model.role(name), "states": list(model.states(name)), "parents": list(model.parents(name))}
                    for name in model.variables
                },
                "parameters": params.reset_index().to_dict(orient="records") if args.parameters else len(params),
                "sources": {sid: model.spec.evidence[sid].source for sid in used_sources},
            }
        )
        return 0
    print(f"{model.spec.title}\n{summary['name']} {summary['version']} (hash {summary['content_hash']})\n")
    print("Population: " + model.spec.population + "\n")
    for role in ("age", "history", "condition", "finding", "test"):
        names = roles.get(role, [])
        print(f"{role} ({len(names)}): " + ", ".join(names))
    print(
        f"\n{summary['parameters']} parameters: {summary['parameters'] - summary['derived'] - summary['expert']} from the "
        f"literature, {summary['expert']} expert estimates, {summary['derived']} derived by formula."
    )
    print(f"{len(used_sources)} evidence entries cited (of {summary['evidence']}).")
    if args.parameters:
        cols = ["value", "distribution", "low", "high", "source", "table"]
        print(params[cols].to_string(float_format=lambda x: f"{x:.4g}"))
    return 0
