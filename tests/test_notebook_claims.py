"""What the teaching notebooks say in prose must hold for the model they run on (issue 11)."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

import omsbayes

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


def _all_markdown(name: str) -> str:
    """Every markdown cell of a notebook (prose that ends a section shares a cell with the next heading)."""
    cells = json.loads((NOTEBOOKS / name).read_text(encoding="utf-8"))["cells"]
    return "\n".join("".join(cell["source"]) for cell in cells if cell["cell_type"] == "markdown")


def _assigned(code: str, name: str):
    """The literal value of the first top-level ``name = ...`` in the code."""
    for node in ast.parse(code).body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError(f"no assignment to {name!r}")


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


def test_bayes_rule_section_asks_the_population_the_facts_describe(model):
    markdown, code = _section("01_bayes_rule_and_base_rates.ipynb", "2. Bayes' rule")
    assert markdown and code
    children = {"age": {"infant": 1, "toddler": 1, "child": 1, "adolescent": 1}}
    target = omsbayes.check_targets(model).loc["oms-given-neuroblastoma-children"]

    def oms_given_nb(setting):
        return model.query(["oms"], {**children, "neuroblastoma": "present"}, setting=setting)["oms"]["present"]

    assert target["setting"] == "general_population"
    assert target["low"] <= oms_given_nb("general_population") <= target["high"]
    if not target["low"] <= oms_given_nb(None) <= target["high"]:
        # the default setting selects children, so the "2%" fact only holds where the notebook says it asks
        assert '{"setting": "general_population"}' in code and "{**population, " in code
        assert "general population" in markdown
    if "many times more common than OMS" in _all_markdown("01_bayes_rule_and_base_rates.ipynb"):
        population = {**children, "setting": "general_population"}
        p_nb = model.query(["neuroblastoma"], population)["neuroblastoma"]["present"]
        p_oms = model.query(["oms"], population)["oms"]["present"]
        assert p_nb / p_oms > 5


def test_base_rate_section_conclusion_holds_in_the_population_it_names(model):
    markdown, code = _section("01_bayes_rule_and_base_rates.ipynb", "5. The base-rate fallacy")
    assert 'evidence={**population, "oms": "present"}' in code and "evidence=population" in code
    population = {"setting": "general_population", "urine_catecholamines": "positive"}

    def nb_given_positive(extra):
        return model.query(["neuroblastoma"], {**population, **extra}, age=2.0)["neuroblastoma"]["present"]

    text = " ".join(markdown.split())
    if "in an unselected toddler is, in the model, most likely a false positive" in text:
        assert nb_given_positive({}) < 0.5
    if "a toddler with OMS points to a tumour" in text:
        assert nb_given_positive({"oms": "present"}) > 0.5

def test_d_separation_section_numbers_are_asked_where_the_graph_claim_holds(model):
    markdown, code = _section("04_explaining_away_and_d_separation.ipynb", "2. The numbers agree")
    assert markdown and code

    def p_nb(evidence, age, setting):
        return model.query(["neuroblastoma"], evidence, age=age, setting=setting)["neuroblastoma"]["present"]

    infection = {"recent_infection": "present"}
    assert model.d_separated("recent_infection", "neuroblastoma", given=["age"])
    if "two numbers are identical" in markdown:
        # true in the population only; the default setting of a toddler observes a collider
        assert 'def prob(variable, evidence, age=None, setting="general_population")' in code
        population = "general_population"
        assert p_nb({}, 2.0, population) == pytest.approx(p_nb(infection, 2.0, population), rel=1e-9)
    if "With the age unknown they differ" in markdown:
        assert p_nb(infection, None, "general_population") > p_nb({}, None, "general_population")
    if "dependent even given the age" in markdown:
        assert "acute_presentation" in model.settings.loc["paediatric_acute", "evidence"]
        assert not model.d_separated("recent_infection", "neuroblastoma", given=["age", "acute_presentation"])
        assert p_nb({}, 2.0, "paediatric_acute") != pytest.approx(p_nb(infection, 2.0, "paediatric_acute"), rel=1e-6)


def test_negative_mibg_section_effects_have_the_stated_directions(model):
    markdown, code = _section("04_explaining_away_and_d_separation.ipynb", "4. What a negative MIBG")
    assert markdown and code
    signs, age = _assigned(code, "signs"), _assigned(code, "age")
    variables = ["oms", "neuroblastoma", "systemic_cancer", "recent_infection"]

    def present(extra):
        answer = model.query(variables, {**signs, **extra}, age=age)  # the default setting, as in the section
        return {v: answer[v].iloc[-1] for v in variables}

    base, mibg = present({}), present({"mibg_scan": "negative"})
    both = present({"mibg_scan": "negative", "body_imaging_mass": "negative"})
    text = " ".join(markdown.split())
    if "lowers P(neuroblastoma) but leaves a good part of it" in text:
        assert 0.25 * base["neuroblastoma"] < mibg["neuroblastoma"] < base["neuroblastoma"]
    if "Body imaging lowers it much further" in text:
        assert both["neuroblastoma"] < 0.5 * mibg["neuroblastoma"]
    if "P(OMS) barely moves" in text:
        assert abs(mibg["oms"] - base["oms"]) < 0.01
    if "Other cancers: made *more* likely by a negative MIBG" in text:
        assert mibg["systemic_cancer"] > base["systemic_cancer"]
    if "lowers P(other cancer) again" in text:
        assert both["systemic_cancer"] < mibg["systemic_cancer"]
    if "Recent infection: more likely" in text:
        assert mibg["recent_infection"] > base["recent_infection"]
    if "lower than in neuroblastoma in general" in text:
        values = model.parameters["value"]
        assert values["mibg_scan.neuroblastoma.with_oms"] < values["mibg_scan.neuroblastoma.without_oms"]

def _toddler_of_notebook_06():
    _, code = _section("06_what_if_and_value_of_information.ipynb", "Learning goals")
    return _assigned(code, "signs"), _assigned(code, "age")


def test_value_of_information_sections_rank_as_the_prose_says(model):
    markdown = " ".join(_all_markdown("06_what_if_and_value_of_information.ipynb").split())
    signs, age = _toddler_of_notebook_06()
    voi = model.value_of_information(signs, age=age).table
    if "The tumour tests lead, body imaging first" in markdown:
        assert voi["candidate"].iloc[0] == "body_imaging_mass"
        assert set(voi["role"].head(3)) == {"test"}
    if "no single result would change the top diagnosis" in markdown:
        assert voi["p_top_changes"].max() == 0
    if "MIBG moves up to first place and its value is now much smaller" in markdown:
        after = model.value_of_information({**signs, "body_imaging_mass": "negative"}, age=age).table
        assert after["candidate"].iloc[0] == "mibg_scan"
        before = voi.set_index("candidate").loc["mibg_scan", "expected_entropy_reduction"]
        assert after["expected_entropy_reduction"].iloc[0] < 2 / 3 * before


def test_nejm_solution_agrees_with_the_model(model):
    markdown, code = _section("06_what_if_and_value_of_information.ipynb", "Worked solutions")
    assert '"pub-nejm-1995-29mo-oms"' in code
    case = omsbayes.load_public_vignettes()["pub-nejm-1995-29mo-oms"]
    first_by_voi = model.value_of_information(case.evidence, age=case.age_years).table["candidate"].iloc[0]
    first_in_note = model.diagnose(case.evidence, age=case.age_years).must_not_miss.tests["test"].iloc[0]
    # the solution answers "Yes." exactly when the two first choices agree
    assert ("Yes. The note lists" in markdown) == (first_by_voi == first_in_note)


@pytest.mark.parametrize("name", sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")))
def test_every_cell_has_a_unique_id(name):
    cells = json.loads((NOTEBOOKS / name).read_text(encoding="utf-8"))["cells"]
    ids = [cell.get("id") for cell in cells]
    assert None not in ids and len(set(ids)) == len(ids)
