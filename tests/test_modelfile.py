"""Reading model files: every malformed file gives an error naming the file and line."""

from __future__ import annotations

import re
import shutil

import pytest

import omsbayes
from omsbayes.errors import ModelFileError
from omsbayes.modelcheck import check_model

from .conftest import TINY_MODEL


@pytest.fixture
def tiny_copy(tmp_path):
    """A writable copy of the tiny model."""
    target = tmp_path / "tiny"
    shutil.copytree(TINY_MODEL, target)
    return target


def edit(path, old, new):
    text = path.read_text()
    assert old in text, f"fixture text not found: {old!r}"
    path.write_text(text.replace(old, new, 1))


def line_of(path, needle):
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(needle)


def test_missing_file_names_the_file(tmp_path):
    with pytest.raises(ModelFileError, match=r"model\.yaml: the file does not exist"):
        omsbayes.load_model(tmp_path)


def test_yaml_syntax_error_names_file_and_line(tiny_copy):
    params = tiny_copy / "parameters.yaml"
    edit(params, "value: 0.45, uncertainty", "value: [0.45, uncertainty")
    line = line_of(params, "value: [0.45")
    with pytest.raises(ModelFileError, match=rf"parameters\.yaml:{line}: this is not valid YAML"):
        omsbayes.load_model(tiny_copy)


def test_unknown_evidence_id_has_line_and_suggestion(tiny_copy):
    params = tiny_copy / "parameters.yaml"
    edit(params, "source: fixture}\n  infection.adults", "source: fixtre}\n  infection.adults")
    with pytest.raises(ModelFileError, match=r"parameters\.yaml:\d+: parameter 'infection.paediatric' cites unknown evidence id 'fixtre'\. Did you mean 'fixture'\?"):
        omsbayes.load_model(tiny_copy)


def test_parameter_without_source_is_rejected(tiny_copy):
    params = tiny_copy / "parameters.yaml"
    edit(params, "oms.rate.adults: {means: OMS rate adults, value: 0.0002, uncertainty: {dist: lognormal, low: 0.0001, high: 0.0004}, expert: test value}",
         "oms.rate.adults: {means: OMS rate adults, value: 0.0002, uncertainty: {dist: lognormal, low: 0.0001, high: 0.0004}}")
    line = line_of(params, "oms.rate.adults:")
    with pytest.raises(ModelFileError, match=rf"parameters\.yaml:{line}: parameter 'oms.rate.adults' has no source"):
        omsbayes.load_model(tiny_copy)


def test_value_outside_its_range_is_rejected(tiny_copy):
    edit(tiny_copy / "parameters.yaml", "value: 0.02, uncertainty: {dist: beta, low: 0.005", "value: 0.2, uncertainty: {dist: beta, low: 0.005")
    with pytest.raises(ModelFileError, match=r"parameter 'aca.opsoclonus': value 0.2 lies outside its uncertainty range \[0.005, 0.05\]"):
        omsbayes.load_model(tiny_copy)


def test_categorical_parameter_must_sum_to_one(tiny_copy):
    edit(tiny_copy / "parameters.yaml", "value: [0.3, 0.6, 0.1]", "value: [0.3, 0.6, 0.2]")
    with pytest.raises(ModelFileError, match=r"the probabilities of parameter 'oms.onset' must be positive and sum to 1"):
        omsbayes.load_model(tiny_copy)


def test_table_naming_unknown_parameter(tiny_copy):
    model_yaml = tiny_copy / "model.yaml"
    edit(model_yaml, "leak: opsoclonus.leak", "leak: opsoclonus.leek")
    with pytest.raises(ModelFileError, match=r"model\.yaml:\d+: 'leak' of 'opsoclonus' uses unknown parameter 'opsoclonus.leek'\. Did you mean 'opsoclonus.leak'\?"):
        omsbayes.load_model(tiny_copy)


def test_parents_must_match_the_table(tiny_copy):
    model_yaml = tiny_copy / "model.yaml"
    edit(model_yaml, "    parents: [oms, aca]\n    table:\n      kind: noisy_or\n      leak: opsoclonus.leak",
         "    parents: [oms]\n    table:\n      kind: noisy_or\n      leak: opsoclonus.leak")
    with pytest.raises(ModelFileError, match=r"variable 'opsoclonus' lists parents \['oms'\], but its table uses \['oms', 'aca'\]"):
        omsbayes.load_model(tiny_copy)


def test_a_parameter_may_feed_one_table_only(tiny_copy):
    edit(tiny_copy / "model.yaml", "causes: {oms: oms.ataxia, aca: aca.ataxia}", "causes: {oms: oms.ataxia, aca: aca.opsoclonus}")
    edit(tiny_copy / "parameters.yaml", "  aca.ataxia: {means: P(ataxia | aca), value: 0.95, uncertainty: {dist: beta, n: 30}, source: fixture}\n", "")
    with pytest.raises(ModelFileError, match=r"parameter 'aca.opsoclonus' feeds the tables of both 'opsoclonus' and 'ataxia'"):
        omsbayes.load_model(tiny_copy)


def test_unused_parameter_is_reported(tiny_copy):
    params = tiny_copy / "parameters.yaml"
    params.write_text(params.read_text() + "  spare: {means: unused, value: 0.5, uncertainty: {dist: beta, n: 10}, source: fixture}\n")
    with pytest.raises(ModelFileError, match=r"parameter 'spare' is defined but no table or formula uses it"):
        omsbayes.load_model(tiny_copy)


def test_formula_must_use_known_earlier_parameters(tiny_copy):
    edit(tiny_copy / "parameters.yaml", "(1 - oms.nb_fraction) / oms.nb_fraction", "(1 - oms.nb_fracton) / oms.nb_fraction")
    with pytest.raises(ModelFileError, match=r"the formula of parameter 'oms.rate.paediatric' uses unknown parameter 'oms.nb_fracton'\. Did you mean 'oms.nb_fraction'\?"):
        omsbayes.load_model(tiny_copy)


def test_formula_must_be_arithmetic(tiny_copy):
    edit(tiny_copy / "parameters.yaml", "formula: nb.rate.paediatric *", "formula: __import__('os') or nb.rate.paediatric *")
    with pytest.raises(ModelFileError, match=r"the formula of parameter 'oms.rate.paediatric' is not arithmetic"):
        omsbayes.load_model(tiny_copy)


def test_parents_come_before_children(tiny_copy):
    model_yaml = tiny_copy / "model.yaml"
    text = model_yaml.read_text()
    start = text.index("  neuroblastoma:\n")
    end = text.index("  oms:\n")
    block = text[start:end]
    text = text[:start] + text[end:]
    text = text.replace("  aca:\n", block + "  aca:\n", 1)
    model_yaml.write_text(text)
    with pytest.raises(ModelFileError, match=r"variable 'oms' comes before its parent 'neuroblastoma'"):
        omsbayes.load_model(tiny_copy)


def test_unknown_table_kind(tiny_copy):
    edit(tiny_copy / "model.yaml", "kind: noisy_max", "kind: noisy_min")
    with pytest.raises(ModelFileError, match=r"the table of 'onset' has unknown kind 'noisy_min'; allowed: categorical, by_age, condition, noisy_or, noisy_max"):
        omsbayes.load_model(tiny_copy)


def test_probability_above_one_breaks_the_table_sum(tiny_copy):
    # a beta parameter cannot exceed 1 in the file, so use an override: the table check names the variable
    model = omsbayes.load_model(tiny_copy)
    with pytest.raises(omsbayes.EvidenceError, match=r"The value of parameter 'oms.opsoclonus' must be between 0 and 1\. Got 1.5 instead\."):
        model.with_parameters({"oms.opsoclonus": 1.5})


def test_check_model_reports_a_target_not_met(tiny_copy):
    targets = tiny_copy / "targets.yaml"
    edit(targets, "range: [0.45, 0.55]", "range: [0.9, 0.95]")
    result = check_model(tiny_copy, vocabulary=False)
    assert not result.ok
    assert len(result.problems) == 1
    assert re.search(r"targets\.yaml:\d+: target 'nb-given-oms' not met: the model gives 0\.5\d+, outside \[0\.9, 0\.95\]", result.problems[0])


def test_check_model_passes_the_default_model(model):
    result = check_model()
    assert result.ok, result.problems
    assert result.targets["met"].all()
    assert result.summary["variables"] == len(model.variables)


def test_check_model_reports_a_parse_error_without_raising(tiny_copy):
    edit(tiny_copy / "model.yaml", "  name: tiny", "  name: [tiny")
    result = check_model(tiny_copy, vocabulary=False)
    assert not result.ok
    assert "model.yaml:" in result.problems[0] and "not valid YAML" in result.problems[0]


def test_derived_value_that_breaks_a_table_names_the_table(tiny_copy):
    # a tiny neuroblastoma fraction makes the derived non-tumour OMS rate exceed 1
    edit(tiny_copy / "parameters.yaml", "oms.nb_fraction: {means: P(nb | oms), value: 0.5, uncertainty: {dist: beta, n: 50}",
         "oms.nb_fraction: {means: P(nb | oms), value: 0.00001, uncertainty: {dist: beta, n: 50}")
    model = omsbayes.load_model(tiny_copy)
    with pytest.raises(ModelFileError, match=r"model\.yaml:\d+: the table of 'oms' has entries outside \[0, 1\]"):
        model.tables  # noqa: B018 - building the tables raises
    result = check_model(tiny_copy, vocabulary=False)
    assert any("the table of 'oms' has entries outside [0, 1]" in p for p in result.problems)
