"""``omsbayes model``: check, describe, export and document model files."""

from __future__ import annotations

from ..export import FORMATS
from ._common import print_json, use_agg_backend


def register(sub) -> None:
    p = sub.add_parser(
        "model",
        help="check, describe, export or document a model",
        description="Check, describe, export or document a model.",
    )
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
    show = msub.add_parser(
        "show",
        help="list the variables with their states, and summarise parameters and sources",
        description="List every variable by role with its states (what evidence is written with) and label; "
        "summarise the parameters and the sources cited.",
    )
    show.add_argument("path", nargs="?", default=None, help="model directory or model.yaml (default: bundled)")
    show.add_argument("--json", action="store_true")
    show.add_argument("--parameters", action="store_true", help="list every parameter")
    show.set_defaults(func=run_show)
    export = msub.add_parser(
        "export",
        help="write the model as BIF, XMLBIF, NET, UAI or XDSL for other tools",
        description=(
            "Write the model's tables, at full double precision, in an exchange format: BIF and XMLBIF (pgmpy, "
            "pyAgrum, bnlearn, Weka), NET (Hugin, GeNIe), UAI (UAI solvers; numbered variables and states, no "
            "names) or XDSL (GeNIe). Prints the file written."
        ),
    )
    export.add_argument("path", nargs="?", default=None, help="model directory or model.yaml (default: bundled)")
    export.add_argument("--format", choices=FORMATS, default=None, help="default: from the suffix of --out")
    export.add_argument("--out", metavar="FILE", default=None, help="file to write (default: <model name>.<suffix>)")
    export.set_defaults(func=run_export)
    card = msub.add_parser(
        "card",
        help="write the model card (Markdown) and its structure figure",
        description=(
            "Generate the model card from the model files: intended use, population, structure figure, every "
            "variable and parameter with its source, the literature targets, expert estimates, known gaps. "
            "Default: MODEL_CARD.md and structure.png in the model's directory. Prints the files written."
        ),
    )
    card.add_argument("path", nargs="?", default=None, help="model directory or model.yaml (default: bundled)")
    card.add_argument("--out", metavar="FILE", default=None, help="card file (the figure is written beside it)")
    card.set_defaults(func=run_card)


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
        print(f"{role} ({len(names)}):")
        width = max((len(n) for n in names), default=0)
        for name in names:  # the states are what evidence is written with: name=state
            print(f"  {name:<{width}}  {' | '.join(model.states(name))}  ({model.label(name)})")
    print(
        f"\n{summary['parameters']} parameters: {summary['parameters'] - summary['derived'] - summary['expert']} from the "
        f"literature, {summary['expert']} expert estimates, {summary['derived']} derived by formula."
    )
    print(f"{len(used_sources)} evidence entries cited (of {summary['evidence']}).")
    if args.parameters:
        cols = ["value", "distribution", "low", "high", "source", "table"]
        print(params[cols].to_string(float_format=lambda x: f"{x:.4g}"))
    return 0


def run_export(args) -> int:
    from ..export import ExportError, export_model
    from ..model import load_model

    if args.format is None and args.out is None:
        raise ExportError(f"Say which format to write: --format {{{','.join(FORMATS)}}} or --out FILE with its suffix.")
    model = load_model(_path(args))
    out = args.out if args.out is not None else f"{model.name}{FORMATS[args.format]}"
    print(export_model(model, out, args.format))
    return 0


def run_card(args) -> int:
    from ..model import load_model
    from ..modelcard import write_model_card

    use_agg_backend()
    card, figure = write_model_card(load_model(_path(args)), args.out)
    print(card)
    print(figure)
    return 0
