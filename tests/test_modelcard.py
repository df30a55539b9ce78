"""The model card: generated from the model files, committed, and kept up to date."""

from __future__ import annotations

import difflib

import pytest

import omsbayes
from omsbayes.cli import main
from omsbayes.export import ExportError
from omsbayes.modelcard import CARD_NAME, FIGURE_NAME, model_card, write_model_card

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def card(model) -> str:
    return model_card(model)


def test_committed_model_card_is_up_to_date(model, card):
    path = model.spec.path / CARD_NAME
    committed = path.read_text(encoding="utf-8") if path.is_file() else ""
    if committed != card:
        diff = difflib.unified_diff(committed.splitlines(True), card.splitlines(True), "committed", "generated")
        diff = "".join(list(diff)[:40])
        pytest.fail(
            f"{path} is not the card of the model files beside it: run `omsbayes model card` to regenerate it, "
            f"then commit {CARD_NAME} and {FIGURE_NAME}.\n{diff}"
        )
    figure = model.spec.path / FIGURE_NAME
    assert figure.read_bytes().startswith(PNG), f"{figure} is missing: run `omsbayes model card`"
    assert f"]({FIGURE_NAME})" in card


def rows_naming(card: str, name: str) -> int:
    return sum(line.startswith(f"| `{name}` |") for line in card.splitlines())


def test_card_lists_every_variable_and_every_parameter_once(model, card):
    variables = card[card.index("### Variables") : card.index("## Parameters")]
    for name in model.variables:
        assert rows_naming(variables, name) == 1, name
    parameters = card[card.index("## Parameters") : card.index("## Literature targets")]
    for name in model.parameter_names:
        assert rows_naming(parameters, name) == 1, name


def test_card_gives_value_interval_distribution_and_source(model, card):
    row = next(line for line in card.splitlines() if line.startswith("| `neuroblastoma.incidence.infant` |"))
    cells = [c.strip() for c in row.strip("|").split(" | ")]
    p = model.parameters.loc["neuroblastoma.incidence.infant"]
    assert cells[2] == "5.8e-05" == f"{p.value:.6g}"
    assert cells[3] == f"{p.low:.3g} – {p.high:.3g}"
    assert cells[4] == p.distribution
    assert cells[5].startswith("[nb-incidence-infant-seer-gurney](#ev-nb-incidence-infant-seer-gurney)")
    citation = model.spec.evidence["nb-incidence-infant-seer-gurney"].source
    assert '<a id="ev-nb-incidence-infant-seer-gurney"></a>' in card and citation.split(".")[0] in card


def test_card_lists_expert_estimates_apart_with_their_reasons(model, card):
    params = model.parameters
    expert = params[params["expert"] & params["derived"].isna()]
    section = card[card.index("### Expert estimates") : card.index("### Derived parameters")]
    assert f"### Expert estimates ({len(expert)})" in section
    for name, row in expert.iterrows():
        line = next(line for line in section.splitlines() if line.startswith(f"| `{name}` |"))
        assert line.endswith(" ".join(row.reason.split()).replace("|", "\\|") + " |"), name


def test_card_gives_derived_formulas_targets_gaps_and_provenance(model, card):
    derived = card[card.index("### Derived parameters") :]
    for name, row in model.parameters[model.parameters["derived"].notna()].iterrows():
        assert f"| `{name}` |" in derived and f"`{row.derived}`" in derived
    for target_id, row in omsbayes.check_targets(model).iterrows():
        line = next(line for line in card.splitlines() if line.startswith(f"| `{target_id}` |"))
        assert f"| {row.value:.3g} | {'met' if row.met else '**not met**'} |" in line
    for gap in model.spec.gaps:
        assert f"- {gap}" in card
    assert "#### Gaps: no quantitative source found" in card  # GAPS.md, its headings nested
    assert f"content hash `{model.content_hash}`" in card and f"version {model.version}" in card
    assert model.spec.intended_use in card


def test_write_model_card_and_cli(tiny, tmp_path, capsys):
    card_path, figure = write_model_card(tiny, tmp_path / "card.md")
    assert card_path.read_text(encoding="utf-8") == model_card(tiny)
    assert figure == tmp_path / FIGURE_NAME and figure.read_bytes().startswith(PNG)
    assert "### From `GAPS.md`" not in model_card(tiny)  # the tiny model has no GAPS.md
    out = tmp_path / "cli" / "MODEL_CARD.md"
    out.parent.mkdir()
    assert main(["model", "card", "--out", str(out), str(tiny.spec.files["model"])]) == 0
    assert capsys.readouterr().out.split() == [str(out), str(out.parent / FIGURE_NAME)]
    assert out.read_text(encoding="utf-8") == model_card(tiny)


def test_write_model_card_into_a_missing_folder(tiny, tmp_path):
    with pytest.raises(ExportError, match=r"the folder '.*nowhere' does not exist\."):
        write_model_card(tiny, tmp_path / "nowhere" / CARD_NAME)
