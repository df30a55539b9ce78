"""Issue 10: defects found by bad input, faults and scale, each reproduced by a test named after its item.

Every test here failed before its fix. Tests run against the tiny model of
tests/data/tiny_model (or properties true for any model), never against the
numbers of the default model.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import omsbayes
from omsbayes.errors import EvidenceError, ModelFileError, OmsBayesError
from omsbayes.uncertainty_draws import ParameterStreams, draw_parameters

from .conftest import TINY_MODEL
from .test_modelfile import edit, line_of, tiny_copy  # noqa: F401 - tiny_copy is a fixture

_TINY = omsbayes.load_model(TINY_MODEL)
CASE = {"opsoclonus": "present", "ataxia": "present"}


# -- item 2: the point estimate of a changed model lies inside its own interval -----------------
def test_defect_02_point_estimate_inside_its_interval_with_overrides():
    # ten times the neuroblastoma rate: the derived non-tumour OMS rate is calibrated at the file's
    # values and stays there in the point estimate, so it must stay there in the draws too
    changed = _TINY.with_parameters({"nb.rate.paediatric": 0.02})
    result = changed.uncertainty(CASE, age=2.0, draws=400, rng=1, progress=False)
    table = result.table.set_index("condition")
    assert (table["low95"] <= table["point"]).all() and (table["point"] <= table["high95"]).all(), table
    # the derived parameter is drawn around the value the point estimate uses
    drawn = draw_parameters(changed, 4000, rng=2)
    value = changed.values["oms.rate.paediatric"]
    low, high = np.quantile(drawn["oms.rate.paediatric"], [0.025, 0.975])
    assert low < value < high
    np.testing.assert_array_equal(drawn["nb.rate.paediatric"], 0.02)


# -- item 10: many draws run in chunks with the same numbers; too many are refused -------------
def test_defect_10_chunked_draws_equal_draws_taken_at_once():
    streams = ParameterStreams(_TINY, 5)
    parts = [streams.take(n) for n in (1, 7, 32)]
    whole = draw_parameters(_TINY, 40, rng=5)
    for name, values in whole.items():
        np.testing.assert_array_equal(np.concatenate([p[name] for p in parts]), values, err_msg=name)


def test_defect_10_uncertainty_refuses_more_draws_than_fit_in_memory():
    with pytest.raises(EvidenceError, match=r"'draws' parameter of uncertainty must be at most 1,000,000.*GiB"):
        _TINY.uncertainty(CASE, age=2.0, draws=10**7, rng=0, progress=False)


def test_defect_10_uncertainty_progress_counts_draws(monkeypatch):
    import tqdm.auto

    seen = {}
    real = tqdm.auto.tqdm

    def spy(*args, **kwargs):
        bar = real(*args, **kwargs)
        seen["bar"] = bar
        return bar

    monkeypatch.setattr(tqdm.auto, "tqdm", spy)
    monkeypatch.setattr("omsbayes.uncertainty.CHUNK_BYTES", 4096)  # several chunks
    _TINY.uncertainty(CASE, age=2.0, draws=250, rng=0, progress=True)
    assert seen["bar"].total == 250 and seen["bar"].n == 250 and seen["bar"].unit == "draw"


# -- item 15: a Generator continues from its position -------------------------------------------
def test_defect_15_generator_position_is_honoured():
    gen = np.random.default_rng(7)
    first = _TINY.uncertainty(CASE, age=2.0, draws=50, rng=gen, progress=False)
    second = _TINY.uncertainty(CASE, age=2.0, draws=50, rng=gen, progress=False)
    assert not np.array_equal(first.samples.to_numpy(), second.samples.to_numpy())
    again = _TINY.uncertainty(CASE, age=2.0, draws=50, rng=np.random.default_rng(7), progress=False)
    np.testing.assert_array_equal(first.samples.to_numpy(), again.samples.to_numpy())
    # a generator moved on before the call draws differently, and the call moves it on
    moved = np.random.default_rng(7)
    moved.random()
    later = _TINY.uncertainty(CASE, age=2.0, draws=50, rng=moved, progress=False)
    assert not np.array_equal(first.samples.to_numpy(), later.samples.to_numpy())
    untouched, used = np.random.default_rng(3), np.random.default_rng(3)
    draw_parameters(_TINY, 5, used)
    assert untouched.random() != used.random()


@pytest.mark.parametrize("rng", [-1, 1.5, "7", True])
def test_defect_15_bad_seeds_are_refused(rng):
    with pytest.raises(EvidenceError, match=r"The 'rng' parameter of uncertainty must be a seed \(an integer >= 0\)"):
        _TINY.uncertainty(CASE, age=2.0, draws=10, rng=rng, progress=False)


# -- item 3: a change that only feeds formulas is refused, not silently ignored -----------------
def test_defect_03_formula_input_changed_alone_is_refused():
    message = r"Parameter 'oms.nb_fraction' feeds no table, only the formulas of 'oms.rate.paediatric'"
    with pytest.raises(EvidenceError, match=message):
        _TINY.with_parameters({"oms.nb_fraction": 0.2})
    with pytest.raises(EvidenceError, match=message):
        _TINY.what_if(CASE, {"fewer tumours": {"oms.nb_fraction": 0.2}}, age=2.0)
    with pytest.raises(EvidenceError, match=message):
        _TINY.sweep_parameter(CASE, "oms.nb_fraction", values=[0.2, 0.4], age=2.0)
    # set together with what it feeds, it is accepted (a whole parameter vector, e.g. one draw)
    both = _TINY.with_parameters({"oms.nb_fraction": 0.2, "oms.rate.paediatric": 0.001})
    assert both.values["oms.rate.paediatric"] == 0.001
    # a pattern matches only the parameters that feed tables
    sweep = _TINY.sweep_parameter(CASE, "oms.*", factors=[0.5, 1.0], age=2.0)
    assert "oms.nb_fraction" not in sweep.table["parameters"].iloc[0].split(", ")
    with pytest.raises(EvidenceError, match=r"The pattern 'oms.nb_\*' of sweep_parameter matches no parameter that feeds a table"):
        _TINY.sweep_parameter(CASE, "oms.nb_*", factors=[0.5, 1.0], age=2.0)


# -- items 6, 7, 8: model files ------------------------------------------------------------------
def test_defect_06_content_hash_is_of_the_files_as_loaded(tiny_copy):
    model = omsbayes.load_model(tiny_copy)
    before = omsbayes.load_model(TINY_MODEL).content_hash
    edit(tiny_copy / "parameters.yaml", "value: 0.95", "value: 0.9")  # the file changes after loading
    assert model.content_hash == before
    assert omsbayes.load_model(tiny_copy).content_hash != before


def test_defect_07_non_utf8_file_names_file_andline_of(tiny_copy):
    path = tiny_copy / "parameters.yaml"
    data = path.read_bytes().replace(b"means: leak", b"means: l\xe9ak", 1)
    path.write_bytes(data)
    line = data[: data.index(b"\xe9")].count(b"\n") + 1
    with pytest.raises(ModelFileError, match=rf"parameters\.yaml:{line}: the file is not UTF-8 text \(byte 0xe9"):
        omsbayes.load_model(tiny_copy)


def test_defect_07_formula_with_thousands_of_terms(tiny_copy):
    huge = " + ".join(["oms.nb_fraction"] * 2000)
    edit(tiny_copy / "parameters.yaml", "formula: nb.rate.paediatric", f"formula: {huge} + nb.rate.paediatric")
    line = line_of(tiny_copy / "parameters.yaml", "means: non-tumour OMS rate")
    with pytest.raises(ModelFileError, match=rf"parameters\.yaml:{line}: the formula of parameter 'oms.rate.paediatric' is too large: it has [\d,]+ characters"):
        omsbayes.load_model(tiny_copy)
    many = " + ".join(["1"] * 300)  # short enough in characters, too many terms
    edit(tiny_copy / "parameters.yaml", f"formula: {huge} + ", f"formula: {many} + ")
    with pytest.raises(ModelFileError, match=r"is too large: it has 30\d terms; at most 200"):
        omsbayes.load_model(tiny_copy)


def test_defect_07_formula_is_never_evaluated_by_python(tiny_copy):
    edit(tiny_copy / "parameters.yaml", "formula: nb.rate.paediatric", "formula: __import__('os').getcwd() + nb.rate.paediatric")
    with pytest.raises(ModelFileError, match=r"is not arithmetic"):
        omsbayes.load_model(tiny_copy)


def test_defect_07_symlink_loop_and_devices(tiny_copy, tmp_path):
    loop = tmp_path / "loop.yaml"
    loop.symlink_to(loop)
    edit(tiny_copy / "model.yaml", "evidence: evidence.yaml", f"evidence: {loop}")
    with pytest.raises(ModelFileError, match=r"model\.yaml:\d+: the path .*loop\.yaml.* cannot be resolved"):
        omsbayes.load_model(tiny_copy)
    edit(tiny_copy / "model.yaml", f"evidence: {loop}", "evidence: /dev/zero")
    with pytest.raises(ModelFileError, match=r"/dev/zero: this is not a regular file"):
        omsbayes.load_model(tiny_copy)
    with pytest.raises(ModelFileError, match=r"loop\.yaml: the file cannot be read"):
        omsbayes.load_model(loop)


def test_defect_07_oversized_file_is_refused_before_reading(tiny_copy, monkeypatch):
    monkeypatch.setattr("omsbayes.yamlio.MAX_FILE_BYTES", 1000)
    with pytest.raises(ModelFileError, match=r"model\.yaml: the file is 0\.0 MiB; omsbayes reads files of at most 0 MiB"):
        omsbayes.load_model(tiny_copy)


def test_defect_07_case_files_are_bounded_too(tmp_path):
    from omsbayes.errors import CaseFileError

    bad = tmp_path / "cases.yaml"
    bad.write_bytes(b"cases:\n- id: a\n  summary: caf\xe9\n")
    with pytest.raises(CaseFileError, match=r"cases\.yaml:3: the file is not UTF-8"):
        omsbayes.load_cases(bad)
    with pytest.raises(CaseFileError, match=r"this is not a regular file"):
        omsbayes.load_cases(tmp_path)
    bad.write_text("cases:\n- id: a\n  diagnosis: oms\n  evidence: {opsoclonus: yes}\n")
    with pytest.raises(CaseFileError, match=r"cases\.yaml:4: case 'a': evidence 'opsoclonus': True .*YAML reads yes/no"):
        omsbayes.load_cases(bad)


@pytest.mark.parametrize(
    "file, old, new, message",
    [
        ("model.yaml", "states: [absent, present]\n    parents: [age]\n    table:\n      kind: by_age",
         "states: [no, yes]\n    parents: [age]\n    table:\n      kind: by_age",
         r"'states' of variable 'recent_infection' must be names \(text\); got False\. YAML reads yes/no"),
        ("model.yaml", "states: [negative, positive]", "states: [negative, null]",
         r"got None\. YAML reads .* null or ~ as nothing"),
        ("model.yaml", "states: [negative, positive]", "states: [negative, negative]", r"names a state twice"),
        ("model.yaml", "bins_years: [0, 1, 4, 12, 18, 50]", "bins_years: [0, 1, .nan, 12, 18, 50]",
         r"'bins_years' must be finite numbers of years"),
        ("model.yaml", "bins_years: [0, 1, 4, 12, 18, 50]", "bins_years: [0, 1, 4, 4, 18, 50]",
         r"'bins_years' must give one strictly increasing lower bound"),
        ("model.yaml", "bins_years: [0, 1, 4, 12, 18, 50]", "bins_years: [0, 1, four, 12, 18, 50]",
         r"'bins_years' must be finite numbers of years; got \[0, 1, 'four'"),
        ("parameters.yaml", "uncertainty: {dist: beta, n: 100}", "uncertainty: {dist: beta, n: .inf}",
         r"uncertainty 'n' of parameter 'infection.paediatric' must be a finite number; got inf"),
        ("parameters.yaml", "concentration: 1000", "concentration: .inf", r"uncertainty 'concentration' .* finite number"),
        ("parameters.yaml", "low: 0.1, high: 0.3", "low: 0.1, high: .inf", r"uncertainty 'high' .* finite number"),
        ("parameters.yaml", "value: [0.02, 0.04, 0.1, 0.08, 0.42, 0.34]", "value: [.nan, 0.04, 0.1, 0.08, 0.42, 0.34]",
         r"parameter 'population.age' needs one probability per state"),
        ("evidence.yaml", "estimate: 0.5", "estimate: .nan", r"'estimate' of evidence 'fixture' must be a finite number"),
        ("evidence.yaml", "n: 20", "n: yes", r"'n' of evidence 'fixture' must be a positive whole number"),
    ],
)
def test_defect_08_validation_refuses_booleans_nan_and_infinity(tiny_copy, file, old, new, message):
    path = tiny_copy / file
    edit(path, old, new)
    with pytest.raises(ModelFileError, match=rf"{file}:\d+: .*{message}"):
        omsbayes.load_model(tiny_copy)


# -- items 1, 4, 9 and issue 11 item 10: the command line and cohort files ---------------------
from omsbayes.cli import main  # noqa: E402

TINY = ["--model", str(TINY_MODEL)]


def _cli(capsys, *argv):
    code = main([*TINY, *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_defect_01_ragged_csv_row_is_refused_with_file_and_line(tmp_path, capsys):
    cohort = tmp_path / "cohort.csv"
    cohort.write_text("id,age,opsoclonus\np1,2,present\np2,30,absent,\n")  # a trailing comma on line 3
    code, out, err = _cli(capsys, "diagnose", "--csv", str(cohort))
    assert code == 2 and out == ""
    assert err.strip() == (
        f"omsbayes: error: {cohort}:3: this row has 4 fields but the header has 3; every row needs one field "
        "per column (check for a stray or missing comma)."
    )


def test_defect_01_cohort_values_match_diagnose(tmp_path, capsys):
    cohort = tmp_path / "cohort.csv"
    cohort.write_text("id,age,opsoclonus,ataxia\n\np1, 2,present,\np2,,,absent\n")
    out_file = tmp_path / "out.csv"
    assert _cli(capsys, "diagnose", "--csv", str(cohort), "--out", str(out_file))[0] == 0
    written = pd.read_csv(out_file, index_col="id")
    assert written.loc["p1", "oms"] == pytest.approx(_TINY.diagnose({"opsoclonus": "present"}, age=2).posterior["oms"], rel=1e-12)
    assert written.loc["p2", "oms"] == pytest.approx(_TINY.diagnose({"ataxia": "absent"}).posterior["oms"], rel=1e-12)


def test_issue11_cohort_duplicate_ids_are_refused(tmp_path, capsys):
    cohort = tmp_path / "cohort.csv"
    cohort.write_text("id,opsoclonus\np1,present\np2,absent\np1,absent\n")
    code, _, err = _cli(capsys, "diagnose", "--csv", str(cohort))
    assert code == 2 and f"{cohort}:4: the id 'p1' is used again (first on line 2); ids must be unique." in err


def test_issue11_cohort_extra_column_is_ignored_with_a_warning(tmp_path, capsys):
    cohort = tmp_path / "cohort.csv"
    cohort.write_text("id,sex,opsoclonus\np1,f,present\n")
    code, out, err = _cli(capsys, "diagnose", "--csv", str(cohort))
    assert code == 0 and "p1," in out
    assert err.strip() == f"omsbayes: warning: {cohort}: ignored column(s) 'sex': not variables of the model."
    code, _, err = _cli(capsys, "diagnose", "--csv", str(cohort), "--strict-columns")
    assert code == 2 and "unknown column 'sex'" in err
    cohort.write_text("id,opsoclonos\np1,present\n")  # a misspelling is never ignored: the finding would be lost
    code, _, err = _cli(capsys, "diagnose", "--csv", str(cohort))
    assert code == 2 and "unknown column 'opsoclonos'" in err and "Did you mean 'opsoclonus'?" in err


def test_issue11_cohort_progress_switch(tmp_path, capsys):
    cohort = tmp_path / "cohort.csv"
    cohort.write_text("id,opsoclonus\np1,present\np2,absent\n")
    code, _, err = _cli(capsys, "diagnose", "--csv", str(cohort), "--progress")
    assert code == 0 and "diagnose_batch" in err and "/2 [" in err
    assert "diagnose_batch" not in _cli(capsys, "diagnose", "--csv", str(cohort))[2]


def test_defect_14_missing_text_in_a_cohort_is_refused_with_a_hint(tmp_path, capsys):
    cohort = tmp_path / "cohort.csv"
    cohort.write_text("id,opsoclonus\np1,NA\n")
    code, _, err = _cli(capsys, "diagnose", "--csv", str(cohort))
    assert code == 2 and f"{cohort}:2: column 'opsoclonus' holds 'NA'; leave the cell empty" in err


def test_defect_04_cohort_output_is_atomic(tmp_path, capsys, monkeypatch):
    cohort = tmp_path / "cohort.csv"
    cohort.write_text("id,opsoclonus\np1,present\n")
    out_file = tmp_path / "out.csv"
    out_file.write_text("old results\n")

    def half_then_fail(self, path, *args, **kwargs):
        with open(path, "w") as handle:
            handle.write("id,oms\np1,")
        raise KeyboardInterrupt

    monkeypatch.setattr(pd.DataFrame, "to_csv", half_then_fail)
    assert _cli(capsys, "diagnose", "--csv", str(cohort), "--out", str(out_file))[0] == 130
    assert out_file.read_text() == "old results\n"  # never half a file
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cohort.csv", "out.csv"]  # no temporary left behind


def test_defect_09_bad_output_paths_are_one_line_errors(tmp_path, capsys):
    cohort = tmp_path / "cohort.csv"
    cohort.write_text("id,opsoclonus\np1,present\n")
    code, _, err = _cli(capsys, "diagnose", "--csv", str(cohort), "--out", str(tmp_path / "no" / "such" / "out.csv"))
    assert code == 3 and err.startswith("omsbayes: error: Cannot write") and err.count("\n") == 1
    code, _, err = _cli(capsys, "diagnose", "opsoclonus=present", "--plot", str(tmp_path / "plot.xyz"))
    assert code == 3 and "the file name must end in one of" in err and err.count("\n") == 1
    code, _, err = _cli(capsys, "sensitivity", "opsoclonus=present", "--plot", str(tmp_path / "missing" / "t.png"))
    assert code == 3 and err.startswith("omsbayes: error: Cannot write") and "Traceback" not in err
    (tmp_path / "file").write_text("")
    assert main(["demo", "--out", str(tmp_path / "file")]) == 3  # the bundled model: the demo case is its own
    assert "Cannot create the output directory" in capsys.readouterr().err


def test_defect_09_negative_seed_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as stop:
        main([*TINY, "uncertainty", "opsoclonus=present", "--seed", "-1"])
    assert stop.value.code == 2
    assert "argument --seed: must be an integer >= 0 (a random seed); got '-1'" in capsys.readouterr().err


def test_defect_09_exit_statuses_are_documented(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "Exit status: 0 success; 1 'model check' found problems; 2 invalid input" in help_text


def test_defect_14_nan_on_the_command_line_is_not_a_probability(capsys):
    code, _, err = _cli(capsys, "diagnose", "opsoclonus=nan")
    assert code == 2 and "has no state 'nan'" in err and "To leave a variable unobserved" in err
    code, out, _ = _cli(capsys, "diagnose", "opsoclonus=", "--json")
    assert code == 0 and '"opsoclonus"' not in out.split('"posterior"')[0]  # empty: not observed


# -- item 11: evidence_trajectory and NaN (documented as unobserved) ---------------------------
def test_defect_11_trajectory_skips_nan_items():
    trajectory = _TINY.evidence_trajectory({"opsoclonus": "present", "ataxia": float("nan"), "onset": np.float32("nan")}, age=2)
    assert list(trajectory.points["item"].iloc[1:]) == ["opsoclonus"]
    expected = _TINY.diagnose({"opsoclonus": "present"}, age=2).posterior
    last = trajectory.wide().iloc[-1]
    np.testing.assert_allclose(last[expected.index], expected, rtol=1e-12)


# -- item 12: value of information and evidence impact stay finite -----------------------------
def test_defect_12_log_odds_and_likelihood_ratios_are_finite_when_a_condition_is_ruled_out():
    # both other conditions observed absent: the runner-up has posterior 0
    voi = _TINY.value_of_information({"oms": "absent", "aca": "absent"}, age=2)
    numbers = voi.table.select_dtypes("number").to_numpy()
    assert np.all(np.isfinite(numbers))
    impact = _TINY.evidence_impact({"oms": "absent", "aca": "absent", "opsoclonus": "present"}, age=2)
    assert np.all(np.isfinite(impact.summary[["lr", "log10_lr"]].to_numpy()))
    assert (impact.summary["lr"] > 0).all()
    # where nothing is ruled out the ratio is the plain one
    plain = _TINY.evidence_impact({"opsoclonus": "present", "ataxia": "present"}, age=2)
    row = plain.summary.set_index("item").loc["opsoclonus"]
    full = _TINY.diagnose({"opsoclonus": "present", "ataxia": "present"}, age=2).posterior
    without = _TINY.diagnose({"ataxia": "present"}, age=2).posterior
    top, runner = plain.top, plain.runner_up
    assert row["lr"] == pytest.approx((full[top] / full[runner]) / (without[top] / without[runner]), rel=1e-10)


# -- item 13: wrong-typed arguments raise clear errors -----------------------------------------
@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: _TINY.value_of_information(CASE, candidates=5), r"'candidates' parameter of value_of_information must be a list"),
        (lambda: _TINY.evidence_trajectory(CASE, order=3), r"'order' parameter of evidence_trajectory must be a list"),
        (lambda: _TINY.sweep_parameter(CASE, 7), r"'parameters' parameter of sweep_parameter must be a list"),
        (lambda: _TINY.sweep_parameter(CASE, "oms.opsoclonus", points="5"), r"'points' parameter of sweep_parameter must be an integer"),
        (lambda: _TINY.sweep_parameter(CASE, "oms.opsoclonus", values=["a"]), r"'values' parameter of sweep_parameter must be finite numbers"),
        (lambda: _TINY.sweep_parameter(CASE, "oms.opsoclonus", values=[float("nan")]), r"'values' parameter of sweep_parameter must be finite numbers"),
        (lambda: _TINY.sweep_age(CASE, ages="two"), r"'ages' parameter of sweep_age must be a list of ages in years"),
        (lambda: _TINY.uncertainty(CASE, draws="100"), r"'draws' parameter of uncertainty must be an integer"),
        (lambda: _TINY.uncertainty(CASE, draws=10, progress="yes"), r"'progress' parameter of uncertainty must be True, False or None"),
        (lambda: _TINY.sensitivity(CASE, target=3), r"target"),
        (lambda: _TINY.with_parameters([("oms.opsoclonus", 0.5)]), r"with_parameters needs a mapping"),
        (lambda: _TINY.diagnose({"opsoclonus": {"present": "x"}}), r"likelihood weights for 'opsoclonus' must be finite"),
        (lambda: omsbayes.Likelihood.ratio("five"), r"A likelihood ratio must be a number"),
        (lambda: omsbayes.load_model(3), r"A model is loaded from a directory or a model.yaml path"),
    ],
)
def test_defect_13_wrong_types_raise_clear_errors(call, message):
    with pytest.raises(OmsBayesError, match=message):
        call()


# -- item 14: one rule for missing values -------------------------------------------------------
@pytest.mark.parametrize("missing", [None, float("nan"), np.float32("nan"), np.float16("nan"), pd.NA, pd.NaT, "", "  "])
def test_defect_14_every_missing_value_means_not_observed(missing):
    expected = _TINY.diagnose({"opsoclonus": "present"}).posterior
    got = _TINY.diagnose({"opsoclonus": "present", "ataxia": missing}, age=missing).posterior
    np.testing.assert_array_equal(got.to_numpy(), expected.to_numpy())
    cohort = pd.DataFrame({"age": pd.Series([missing], dtype=object), "opsoclonus": ["present"], "ataxia": pd.Series([missing], dtype=object)})
    np.testing.assert_allclose(_TINY.diagnose_batch(cohort).iloc[0][expected.index], expected, rtol=1e-12)


@pytest.mark.parametrize("age", [True, np.bool_(False)])
def test_defect_14_boolean_ages_are_refused_everywhere(age):
    with pytest.raises(EvidenceError, match=r"'age' parameter of diagnose must be a number of years"):
        _TINY.diagnose({"opsoclonus": "present"}, age=age)
    with pytest.raises(EvidenceError, match=r"the 'age' column must hold a number of years .* Got True|Got False"):
        _TINY.diagnose_batch(pd.DataFrame({"age": [age, 2.0], "opsoclonus": ["present", None]}))
    with pytest.raises(EvidenceError, match=r"the 'age' column must hold a number of years"):
        _TINY.diagnose_batch(pd.DataFrame({"age": pd.Series([bool(age)]), "opsoclonus": ["present"]}))


def test_defect_10_sweeps_run_in_chunks_and_refuse_a_million_points(monkeypatch):
    values = np.linspace(0.1, 0.9, 7)
    whole = _TINY.sweep_parameter(CASE, "oms.opsoclonus", values=values, age=2.0).wide()
    monkeypatch.setattr("omsbayes.scenarios.SWEEP_CHUNK_BYTES", 1)  # one point per chunk
    chunked = _TINY.sweep_parameter(CASE, "oms.opsoclonus", values=values, age=2.0).wide()
    np.testing.assert_array_equal(whole.to_numpy(), chunked.to_numpy())
    for i, v in enumerate(values):
        expected = _TINY.with_parameters({"oms.opsoclonus": v}).diagnose(CASE, age=2.0).posterior
        np.testing.assert_allclose(chunked.iloc[i][expected.index], expected, rtol=1e-12)
    with pytest.raises(EvidenceError, match=r"gives 1,000,000 points; at most 100,000 are allowed"):
        _TINY.sweep_parameter(CASE, "oms.opsoclonus", values=np.full(10**6, 0.5), age=2.0)
    with pytest.raises(EvidenceError, match=r"'points' parameter of sweep_parameter must be an integer between 2 and 100,000"):
        _TINY.sweep_parameter(CASE, "oms.opsoclonus", points=10**6, age=2.0)
    with pytest.raises(EvidenceError, match=r"'ages' parameter of sweep_age must be a list of 1 to 100,000 ages"):
        _TINY.sweep_age(CASE, ages=[2.0] * (10**5 + 1))


def test_defect_14_nan_age_on_the_command_line_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as stop:
        main([*TINY, "diagnose", "opsoclonus=present", "--age", "nan"])
    assert stop.value.code == 2 and "argument --age: must be a number of years (leave --age out if unknown)" in capsys.readouterr().err
