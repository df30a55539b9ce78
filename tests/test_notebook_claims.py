"""What the teaching notebooks say in prose must hold for the model they run on (issue 11)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def _section(name: str, heading: str) -> tuple[str, str]:
    """The markdown and the code of the ``## heading`` section of a notebook (up to the next ``## ``)."""
    cells = json.loads((NOTEBOOKS / name).read_text(encoding="utf-8"))["cells"]
    markdown, code, inside = [], [], False
    for cell in cells:
        text = "".join(cell["source"])
        if cell["cell_type"] == "code":
            if inside:
                code.append(text)
            continue
        for block in ("\n" + text).split("\n## ")[1:] if "## " in text else []:
            inside = block.startswith(heading)
            if inside:
                markdown.append(block)
        if inside and "## " not in text:
            markdown.append(text)
        elif inside and not markdown[-1].startswith(heading):
            markdown.append(text)
    return "\n".join(markdown), "\n".join(code)


def test_base_rate_section_does_not_claim_one_sensitivity(model):
    markdown, code = _section("01_bayes_rule_and_base_rates.ipynb", "5. The base-rate fallacy")
    assert markdown and code
    everyone = model.query(["urine_catecholamines"], {"neuroblastoma": "present"}, age=2.0)
    in_oms = model.query(["urine_catecholamines"], {"neuroblastoma": "present", "oms": "present"}, age=2.0)
    differ = abs(everyone["urine_catecholamines"]["positive"] - in_oms["urine_catecholamines"]["positive"]) > 1e-6
    if differ:
        assert "same in both trees" not in markdown
    # the section reads the sensitivities off the model instead of writing them down
    assert 'given("neuroblastoma", "present")["positive"]' in code
    assert 'given("neuroblastoma", "absent")["positive"]' in code


@pytest.mark.parametrize("name", sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")))
def test_every_cell_has_a_unique_id(name):
    cells = json.loads((NOTEBOOKS / name).read_text(encoding="utf-8"))["cells"]
    ids = [cell.get("id") for cell in cells]
    assert None not in ids and len(set(ids)) == len(ids)
