"""Second-order uncertainty: every draw is a real re-inference, reproducible from the seed."""

from __future__ import annotations

import json

import numpy as np
import pytest

import omsbayes
from omsbayes import EvidenceError
from omsbayes.cli._common import to_jsonable
from omsbayes.provenance import provenance_of
from omsbayes.uncertainty_draws import draw_parameters

from .conftest import TINY_MODEL

_TINY = omsbayes.load_model(TINY_MODEL)
CASE = {"opsoclonus": "present", "ataxia": 0.8, "urine_catecholamines": "negative"}


def test_same_seed_gives_identical_results():
    first = _TINY.uncertainty(CASE, age=2.0, draws=300, rng=11, progress=False)
    second = _TINY.uncertainty(CASE, age=2.0, draws=300, rng=11, progress=False)
    assert first.table.equals(second.table)
    assert np.array_equal(first.samples.to_numpy(), second.samples.to_numpy())
    assert first.p_top_differs == second.p_top_differs and first.seed == 11
    other = _TINY.uncertainty(CASE, age=2.0, draws=300, rng=12, progress=False)
    assert not np.array_equal(first.samples.to_numpy(), other.samples.to_numpy())
    # a Generator continues from its position (issue 10 item 15): a fresh one with the same seed
    # repeats itself, and no integer seed is recorded
    from_gen = _TINY.uncertainty(CASE, age=2.0, draws=300, rng=np.random.default_rng(11), progress=False)
    again = _TINY.uncertainty(CASE, age=2.0, draws=300, rng=np.random.default_rng(11), progress=False)
    assert np.array_equal(from_gen.samples.to_numpy(), again.samples.to_numpy()) and from_gen.seed is None


def test_every_draw_equals_reinference_with_the_drawn_values():
    result = _TINY.uncertainty(CASE, age=2.0, draws=40, rng=5, progress=False)
    drawn = draw_parameters(_TINY, 40, 5)
    for i in (0, 7, 39):
        model_i = _TINY.with_parameters({k: float(v[i]) for k, v in drawn.items()})
        expected = model_i.diagnose(CASE, age=2.0).posterior
        assert np.allclose(result.samples.iloc[i][expected.index], expected, rtol=1e-10, atol=1e-14)


def test_soft_evidence_on_a_condition_in_every_draw():
    evidence = {"opsoclonus": "present", "aca": 0.3, "oms": "absent"}
    result = _TINY.uncertainty(evidence, age=2.0, draws=10, rng=8, progress=False)
    drawn = draw_parameters(_TINY, 10, 8)
    model_4 = _TINY.with_parameters({k: float(v[4]) for k, v in drawn.items()})
    expected = model_4.diagnose(evidence, age=2.0).posterior
    assert np.allclose(result.samples.iloc[4][expected.index], expected, rtol=1e-10, atol=1e-14)
    assert (result.samples["oms"] == 0).all()


def test_default_model_draw_equals_reinference(model, vignettes):
    case = vignettes["pub-vzv-oms-14f"]
    result = model.uncertainty(case.evidence, age=case.age_years, draws=6, rng=2, progress=False)
    drawn = draw_parameters(model, 6, 2)
    model_3 = model.with_parameters({k: float(v[3]) for k, v in drawn.items()})
    expected = model_3.diagnose(case.evidence, age=case.age_years).posterior
    assert np.allclose(result.samples.iloc[3][expected.index], expected, rtol=1e-9, atol=1e-15)


def test_summary_statistics_follow_from_the_samples():
    result = _TINY.uncertainty(CASE, age=2.0, draws=500, rng=3, progress=False)
    samples = result.samples
    table = result.table.set_index("condition")
    point = _TINY.diagnose(CASE, age=2.0).posterior
    for cond in samples.columns:
        s = samples[cond].to_numpy()
        row = table.loc[cond]
        assert row["point"] == pytest.approx(point[cond], abs=1e-14)
        assert row["mean"] == pytest.approx(s.mean(), rel=1e-12)
        assert row["median"] == pytest.approx(np.median(s), rel=1e-12)
        assert (row["low90"], row["high90"]) == pytest.approx(tuple(np.quantile(s, [0.05, 0.95])), rel=1e-12)
        assert (row["low95"], row["high95"]) == pytest.approx(tuple(np.quantile(s, [0.025, 0.975])), rel=1e-12)
        assert row["low95"] <= row["low90"] <= row["median"] <= row["high90"] <= row["high95"]
    tops = samples.to_numpy().argmax(axis=1)
    assert result.top == point.idxmax()
    assert result.p_top_differs == pytest.approx(np.mean(samples.columns[tops] != result.top))
    assert table["p_top"].sum() == pytest.approx(1.0)
    assert list(result.table["point"]) == sorted(result.table["point"], reverse=True)


def test_intervals_contain_the_point_estimate_for_the_public_cases(model, vignettes):
    # 100 draws per case (each is an exact re-inference of the whole model): the 2.5% and 97.5%
    # quantiles still rest on the 3rd-4th most extreme draws, and a defect that shifts the draws
    # (every ungrouped parameter drawn 30% too high) fails 58 of the 89 cases, against 47 with 250.
    for case in vignettes:
        result = model.uncertainty(case.evidence, age=case.age_years, draws=100, rng=0, progress=False)
        table = result.table
        inside = (table["low95"] <= table["point"]) & (table["point"] <= table["high95"])
        assert inside.all(), (case.id, table.loc[~inside, ["condition", "point", "low95", "high95"]])


def test_progress_bar_can_be_switched_off(capsys):
    _TINY.uncertainty(CASE, draws=50, rng=1, progress=False)
    assert capsys.readouterr().err == ""
    _TINY.uncertainty(CASE, draws=50, rng=1, progress=True)
    assert "uncertainty" in capsys.readouterr().err


def test_chunks_do_not_change_the_result(monkeypatch):
    import omsbayes.uncertainty as module

    whole = _TINY.uncertainty(CASE, draws=120, rng=9, progress=False)
    monkeypatch.setattr(module, "CHUNK_BYTES", 8 * 600)  # a few draws per chunk
    chunked = _TINY.uncertainty(CASE, draws=120, rng=9, progress=False)
    assert np.allclose(whole.samples, chunked.samples, rtol=1e-12, atol=1e-15)


def test_parameters_changed_with_with_parameters_are_held_fixed():
    fixed = _TINY.with_parameters({"oms.opsoclonus": 0.5})
    drawn = draw_parameters(fixed, 20, 1)
    assert np.all(drawn["oms.opsoclonus"] == 0.5)
    result = fixed.uncertainty(CASE, draws=20, rng=1, progress=False)
    assert result.provenance == provenance_of(fixed)


@pytest.mark.parametrize("draws", [1, 0, 2.5, True])
def test_bad_draws(draws):
    with pytest.raises(EvidenceError, match=r"The 'draws' parameter of uncertainty must be an integer >= 2\. Got"):
        _TINY.uncertainty(CASE, draws=draws, rng=1, progress=False)


def test_bad_evidence_is_refused_before_drawing():
    with pytest.raises(EvidenceError, match=r"Unknown variable 'opsoclonuss'.*Did you mean 'opsoclonus'\?"):
        _TINY.uncertainty({"opsoclonuss": "present"}, draws=10, rng=1, progress=False)


def test_result_object_and_interval_plot():
    result = _TINY.uncertainty(CASE, age=2.0, draws=200, rng=4, progress=False)
    data = json.loads(json.dumps(to_jsonable(result.to_dict())))
    assert data["draws"] == 200 and data["seed"] == 4 and len(data["table"]) == len(_TINY.conditions)
    assert "Posterior uncertainty" in result._repr_html_()
    ax = result.plot()
    shown = result.table.iloc[::-1]
    wide95, wide90 = ax.collections[:2]
    assert wide95.get_label() == "95% interval" and wide90.get_label() == "90% interval"
    segments = wide95.get_segments()
    assert np.allclose([s[0][0] for s in segments], shown["low95"]) and np.allclose([s[1][0] for s in segments], shown["high95"])
    assert np.allclose([s[1][0] for s in wide90.get_segments()], shown["high90"])
    point = [line for line in ax.lines if line.get_label() == "point estimate"][0]
    assert np.allclose(point.get_xdata(), shown["point"])
    assert [t.get_text() for t in ax.get_yticklabels()] == list(shown["label"])


def test_subset_draws_equal_full_draws():
    """Each parameter draws from its own stream: drawing fewer parameters does not change any draw."""
    full = draw_parameters(_TINY, 25, rng=17)
    some = draw_parameters(_TINY, 25, rng=17, parameters=["oms.rate.paediatric", "aca.opsoclonus", "onset.leak.acute"])
    assert set(some) >= {"oms.rate.paediatric", "nb.rate.paediatric", "oms.nb_fraction", "aca.opsoclonus", "onset.leak.chronic"}
    assert "ataxia.leak.adults" not in some
    for name, values in some.items():
        np.testing.assert_array_equal(values, full[name], err_msg=name)


def test_each_parameter_draws_from_its_spawned_child_generator():
    """The documented stream of a parameter: the child generator that ``Generator.spawn`` gives it,
    groups first (sorted), then the ungrouped measured parameters (sorted). Seeded results stay
    reproducible however the drawing is organised inside."""
    spec = _TINY.spec
    units = sorted(spec.groups) + sorted(n for n, p in spec.parameters.items() if p.group is None and not p.is_derived)
    children = dict(zip(units, np.random.default_rng(23).spawn(len(units))))
    drawn = draw_parameters(_TINY, 40, rng=23)
    name = "aca.opsoclonus"
    np.testing.assert_array_equal(drawn[name], spec.parameters[name].uncertainty.sample(children[name], 40))
    group = spec.groups["onset.leak"]
    sample = group.uncertainty.sample(children[group.name], 40)
    for i, state in enumerate(group.states):
        np.testing.assert_array_equal(drawn[group.member(state)], sample[:, i])


def test_sliced_tables_give_the_full_tables_answer():
    """Posteriors from tables built only at the hard evidence equal those from whole tables."""
    from omsbayes import tables as tb
    from omsbayes.engine.compiled import SlicedTables

    evidence = _TINY.normalize({"opsoclonus": "present", "onset": "subacute", "ataxia": 0.8}, 2.0)
    lk = evidence.likelihoods(_TINY.state_map)
    values = draw_parameters(_TINY, 30, rng=2)
    restrict = {v: int(np.flatnonzero(lam)[0]) for v, lam in lk.items() if np.count_nonzero(lam) == 1}
    full = tb.build_tables(_TINY.spec, values, _TINY.references)
    sliced = SlicedTables(tb.build_tables(_TINY.spec, values, _TINY.references, restrict=restrict))
    a = _TINY.engine.run(lk, ["oms", "aca", "neuroblastoma"], tables=full)
    b = _TINY.engine.run(lk, ["oms", "aca", "neuroblastoma"], tables=sliced)
    for q in ("oms", "aca", "neuroblastoma"):
        np.testing.assert_allclose(a.marginals[q], b.marginals[q], rtol=1e-12, atol=0)
    np.testing.assert_allclose(a.log_evidence, b.log_evidence, rtol=1e-12)
    with pytest.raises(ValueError, match="derivatives need whole tables"):
        _TINY.engine.run(lk, ["oms"], tables=sliced, gradients=True)
