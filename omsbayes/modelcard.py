"""The model card: every number of a model and where it comes from, in Markdown.

:func:`model_card` builds the card only from the model files (``model.yaml``,
``parameters.yaml``, ``evidence.yaml``, ``targets.yaml`` and ``GAPS.md`` when
present) and the model's own queries of its literature targets. It holds no
date, timing or software version, so the same files always give the same
card, byte for byte: the test suite checks that ``models/oms_ddx/MODEL_CARD.md``
is the card of the files beside it. :func:`write_model_card` (``omsbayes
model card``) rewrites it with its structure figure.

References
----------
Mitchell M, Wu S, Zaldivar A, et al. Model cards for model reporting.
Proceedings of FAT* 2019:220-229. doi:10.1145/3287560.3287596
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .export import writable
from .modelfile import EXPERT
from .targets import check_targets

if TYPE_CHECKING:  # pragma: no cover
    from .model import DiagnosticModel

__all__ = ["model_card", "write_model_card", "save_structure_figure", "CARD_NAME", "FIGURE_NAME"]

#: File names of the card and of its structure figure, side by side.
CARD_NAME = "MODEL_CARD.md"
FIGURE_NAME = "structure.png"
_ROLES = {"age": "age", "history": "history items", "condition": "conditions", "finding": "findings", "test": "tests"}


# ---------------------------------------------------------------------------
# formatting
# ---------------------------------------------------------------------------
def _cell(text) -> str:
    """Text safe inside a Markdown table cell (one line, pipes escaped)."""
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return ""
    return re.sub(r"\s+", " ", str(text)).strip().replace("|", "\\|")


def _num(x, digits: int = 4) -> str:
    """A number with ``digits`` significant digits (``0`` for zero)."""
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return ""
    return "0" if x == 0 else f"{float(x):.{digits}g}"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines + [""]


def _anchor(evidence_id: str) -> str:
    return "ev-" + re.sub(r"[^a-z0-9-]+", "-", evidence_id.lower())


def _source_links(source: str) -> str:
    if source in (EXPERT, "derived"):
        return source
    return ", ".join(f"[{sid}](#{_anchor(sid)})" for sid in (s.strip() for s in source.split(",")))


def _interval(row) -> str:
    return f"{_num(row.low, 3)} – {_num(row.high, 3)}"


def _variable_heading(model: DiagnosticModel, table) -> str:
    if table is None or (isinstance(table, float) and np.isnan(table)):
        return "#### Inputs of formulas only (no table)"
    return f"#### `{table}`: {model.label(table)} ({model.role(table)})"


# ---------------------------------------------------------------------------
# sections
# ---------------------------------------------------------------------------
def _summary(model: DiagnosticModel, params: pd.DataFrame, targets: pd.DataFrame, cited: list[str]) -> list[str]:
    spec = model.spec
    roles = {plural: len(spec.variables_with_role(role)) for role, plural in _ROLES.items()}
    arrows = sum(len(model.parents(v)) for v in model.variables)
    derived = int(params["derived"].notna().sum())
    expert = int((params["expert"] & params["derived"].isna()).sum())
    literature = len(params) - derived - expert
    return _table(
        ["", ""],
        [
            ["model", f"`{model.name}` version {model.version}"],
            ["content hash", f"`{model.content_hash}` (SHA-256 of the four model files, first 16 hex digits)"],
            ["variables", f"{len(model.variables)} (" + ", ".join(f"{n} {r}" for r, n in roles.items()) + f"), {arrows} arrows"],
            [
                "parameters",
                f"{len(params)}: {literature} from the literature, {expert} expert estimates, {derived} derived by formula",
            ],
            ["literature targets", f"{len(targets)}, {int(targets['met'].sum())} met"],
            ["evidence entries", f"{len(spec.evidence)}, {len(cited)} cited by parameters and targets"],
        ],
    )


def _variables(model: DiagnosticModel) -> list[str]:
    rows = []
    for name in model.variables:
        var = model.spec.variables[name]
        rows.append(
            [
                f"`{name}`",
                _cell(var.label),
                var.role,
                ", ".join(var.states),
                ", ".join(f"`{p}`" for p in var.parents),
                var.table["kind"],
                _cell(var.description),
            ]
        )
    return _table(["variable", "label", "role", "states", "parents", "table", "description"], rows)


def _grouped(model: DiagnosticModel, frame: pd.DataFrame, header: list[str], row_of) -> list[str]:
    """Tables of parameters grouped by the variable whose table they feed, in variable order."""
    order = {name: i for i, name in enumerate(model.variables)}
    keys = sorted(frame["table"].unique(), key=lambda t: order.get(t, len(order)) if isinstance(t, str) else len(order))
    lines = []
    for table in keys:
        part = frame[frame["table"] == table] if isinstance(table, str) else frame[frame["table"].isna()]
        lines += [_variable_heading(model, table), ""]
        lines += _table(header, [row_of(name, row) for name, row in part.iterrows()])
    return lines


_PARAMETER_COLUMNS = ["parameter", "means", "value", "95% interval", "distribution", "source"]


def _parameter_row(name: str, row) -> list[str]:
    return [
        f"`{name}`",
        _cell(row.means),
        _num(row.value, 6),
        _interval(row),
        _cell(row.distribution),
        _source_links(row.source),
    ]


def _parameters(model: DiagnosticModel, params: pd.DataFrame) -> list[str]:
    derived = params[params["derived"].notna()]
    expert = params[params["expert"] & params["derived"].isna()]
    literature = params[~params["expert"] & params["derived"].isna()]
    lines = [
        "Each parameter's **value** is the number the tables use (rates are per person-year); the **95% interval** "
        "and **distribution** describe its uncertainty (Beta for probabilities, lognormal for rates, Dirichlet for "
        "distributions over several states, whose members co-vary); the **source** is an entry of "
        "`evidence.yaml`, cited in full under [Sources cited](#sources-cited).",
        "",
        f"### From the literature ({len(literature)})",
        "",
    ]
    lines += _grouped(model, literature, _PARAMETER_COLUMNS, _parameter_row)
    lines += [
        f"### Expert estimates ({len(expert)})",
        "",
        "No published figure was found for these; each carries the reason for its value, and its source is "
        "either `expert estimate` or an `evidence.yaml` entry that is itself marked as an expert estimate.",
        "",
    ]
    lines += _grouped(
        model, expert, [*_PARAMETER_COLUMNS, "reason"], lambda name, row: [*_parameter_row(name, row), _cell(row.reason)]
    )
    lines += [
        f"### Derived parameters ({len(derived)})",
        "",
        "Computed by formula from the parameters above when the model loads; the interval propagates the "
        "uncertainty of the inputs (Monte Carlo, fixed seed).",
        "",
    ]
    lines += _table(
        ["parameter", "means", "value", "95% interval", "formula", "table"],
        [
            [
                f"`{name}`",
                _cell(row.means),
                _num(row.value, 6),
                _interval(row),
                f"`{_cell(row.derived)}`",
                _cell(row.table) and f"`{row.table}`",
            ]
            for name, row in derived.iterrows()
        ],
    )
    return lines


def _targets(targets: pd.DataFrame) -> list[str]:
    rows = [
        [
            f"`{tid}`",
            _cell(row.means),
            f"{_num(row.low, 3)} – {_num(row.high, 3)}",
            _num(row.value, 3),
            "met" if row.met else "**not met**",
            _source_links(row.source),
        ]
        for tid, row in targets.iterrows()
    ]
    return [
        "Published figures the model must reproduce as queries (`targets.yaml`), with the model's value beside each.",
        "",
        *_table(["target", "query", "published range", "model", "met?", "sources"], rows),
    ]


def _gaps(model: DiagnosticModel) -> list[str]:
    lines = [f"- {_cell(gap)}" for gap in model.spec.gaps] + [""]
    gaps_file = model.spec.path / "GAPS.md"
    if gaps_file.is_file():
        lines += ["### From `GAPS.md`", ""]
        for line in gaps_file.read_text(encoding="utf-8").strip().splitlines():
            lines.append("###" + line if line.startswith("#") else line)  # nest its headings under this one
        lines.append("")
    return lines


def _cited(model: DiagnosticModel, params: pd.DataFrame, targets: pd.DataFrame) -> list[str]:
    used = set()
    for source in list(params["source"]) + list(targets["source"]):
        used |= {s.strip() for s in str(source).split(",")}
    return [eid for eid in model.spec.evidence if eid in used]


def _sources(model: DiagnosticModel, cited: list[str]) -> list[str]:
    lines = []
    for eid in cited:
        e = model.spec.evidence[eid]
        figure = _num(e.estimate) if e.estimate is not None else ""
        if e.low is not None and e.high is not None:
            figure += f" ({_num(e.low)} – {_num(e.high)})"
        if e.n is not None:
            figure += f", n = {e.n}"
        parts = [f"<a id=\"{_anchor(eid)}\"></a>`{eid}`: {_cell(e.quantity)}"]
        if figure:
            parts.append(f"= {figure.strip(', ')}")
        text = " ".join(parts) + "."
        if e.population:
            text += f" Population: {_cell(e.population)}."
        text += f" Source: {_cell(e.source)}."
        if e.note:
            text += f" Note: {_cell(e.note)}"
        lines.append(f"- {text}")
    return lines + [""]


# ---------------------------------------------------------------------------
# the card
# ---------------------------------------------------------------------------
def model_card(model: DiagnosticModel, figure: str | None = FIGURE_NAME) -> str:
    """The model card of ``model`` as Markdown, generated from its files only.

    Parameters
    ----------
    model : DiagnosticModel
        The model as read from its files (parameter overrides are shown as
        current values, but a card is meant for the file's model).
    figure : str or None
        The structure figure's path relative to the card (default
        ``structure.png``, written by :func:`write_model_card`); None leaves
        the figure out.

    Returns
    -------
    str
        Intended use, population, structure, every variable, every parameter
        (value, 95% interval, distribution and source, grouped by the table it
        feeds; expert estimates apart with their reasons; derived parameters
        with their formulas), the literature targets with the model's value
        beside each, the known gaps, the sources cited and the provenance
        (model version and content hash). The same files give the same text.

    Examples
    --------
    >>> import omsbayes
    >>> from omsbayes.modelcard import model_card
    >>> model_card(omsbayes.load_model()).splitlines()[0]
    '# Model card: Bayesian network for the differential diagnosis of opsoclonus-myoclonus syndrome'
    """
    spec = model.spec
    params = model.parameters
    targets = check_targets(model)
    cited = _cited(model, params, targets)
    lines = [
        f"# Model card: {spec.title or model.name}",
        "",
        f"<!-- Generated by `omsbayes model card` from the files of model {model.name}; do not edit by hand. -->",
        "",
        *_summary(model, params, targets, cited),
        "> A research and teaching tool, not a medical device: not for the diagnosis, treatment or triage of patients.",
        "",
        "## Intended use",
        "",
        _cell(spec.intended_use),
        "",
        "## Population",
        "",
        _cell(spec.population),
        "",
        "## Structure",
        "",
    ]
    if figure is not None:
        lines += [f"![The network: age, history and causes on top, then conditions, findings and tests]({figure})", ""]
    lines += [
        "Arrows run from causes to effects: age and history to the conditions, causes (such as neuroblastoma) "
        "to the conditions they cause, conditions to the findings and tests they produce. Findings and tests "
        "are independent given the conditions (and age).",
        "",
        "### Variables",
        "",
        *_variables(model),
        "## Parameters",
        "",
        *_parameters(model, params),
        "## Literature targets",
        "",
        *_targets(targets),
        "## Known gaps",
        "",
        *_gaps(model),
        "## Sources cited",
        "",
        *_sources(model, cited),
        "## Provenance",
        "",
        f"Model `{model.name}` version {model.version}, content hash `{model.content_hash}`. Every omsbayes result "
        "records the same name, version and hash (with the omsbayes and pgmpy versions) in its `provenance`, so a "
        "figure can be traced to this card. Cite the software and the model as `CITATION.cff` says.",
        "",
    ]
    return "\n".join(lines)


def save_structure_figure(model: DiagnosticModel, path: str | Path) -> Path:
    """Draw the network (:func:`~omsbayes.plotting.network.plot_network`) into a PNG file."""
    from matplotlib.figure import Figure

    from .plotting.network import plot_network

    path = Path(path)
    fig = Figure(figsize=(20, 12))
    plot_network(model, ax=fig.add_subplot())
    fig.savefig(path, dpi=80, bbox_inches="tight", metadata={"Software": None})
    return path


def write_model_card(model: DiagnosticModel, path: str | Path | None = None) -> tuple[Path, Path]:
    """Write the model card and its structure figure side by side.

    Parameters
    ----------
    model : DiagnosticModel
    path : str or Path, optional
        The card's file; default ``MODEL_CARD.md`` in the model's directory.
        The figure is written beside it as ``structure.png``.

    Returns
    -------
    (Path, Path)
        The card and the figure.

    Raises
    ------
    ExportError
        When the card's folder does not exist.
    """
    path = writable(path if path is not None else model.spec.path / CARD_NAME)
    figure = save_structure_figure(model, path.parent / FIGURE_NAME)
    path.write_text(model_card(model), encoding="utf-8", newline="\n")
    return path, figure
