"""Tables: built from parameters as documented, affine in each parameter, one table per parameter."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pytest

from omsbayes import tables
from omsbayes.model import _apply_overrides


def test_every_table_is_a_distribution(model):
    for name, cpt in model.tables.items():
        assert np.all(cpt >= 0), name
        np.testing.assert_allclose(cpt.sum(axis=0), 1.0, atol=1e-12, err_msg=name)


def test_table_axes_follow_states_and_parents(model):
    for name, cpt in model.tables.items():
        expected = (len(model.states(name)),) + tuple(len(model.states(p)) for p in model.parents(name))
        assert cpt.shape == expected, name


class _ReadRecorder(Mapping):
    """Parameter values that remember which names a table builder reads."""

    def __init__(self, values):
        self._values = values
        self.read = set()

    def __getitem__(self, key):
        self.read.add(key)
        return self._values[key]

    def __iter__(self):
        return iter(self._values)

    def __len__(self):
        return len(self._values)


def _perturbations(model, names, steps):
    """Values with one parameter moved at a time (group siblings co-varying), stacked as arrays."""
    base = model.values
    rows = []
    for name in names:
        for step in steps:
            values = dict(base)
            values.update(_apply_overrides(model.spec, base, {name: base[name] * (1.0 - step)}))
            rows.append(values)
    return {key: np.array([row[key] for row in rows]) for key in base}


@pytest.mark.parametrize("which", ["tiny", "model"])
def test_each_parameter_enters_one_table_affinely(which, request):
    """The precondition of exact linear-fractional sensitivity functions (Coupe and van der Gaag 2002).

    A builder is a pure function of the values it reads: a table whose builder
    never reads a parameter (nor the group siblings that co-vary with it)
    cannot change with it. Perturbed tables are therefore built, and compared
    numerically, only for the parameters a table reads; building every table
    for every parameter (10^10 entries for the bundled model) would only add
    entries known to stay equal.
    """
    m = request.getfixturevalue(which)
    spec = m.spec
    steps = (0.0, 0.1, 0.2)
    base = m.values
    names = [n for n in m.parameter_names if m.table_of(n) is not None]
    feeding = {n: m.table_of(n) for n in names}
    moves = {n: set(_apply_overrides(spec, base, {n: base[n] * (1.0 - steps[-1])})) for n in names}
    one_draw = {k: np.array([v]) for k, v in base.items()}  # batched, as in the perturbations below
    for var in spec.variables.values():
        recorder = _ReadRecorder(one_draw)
        size = tables.build_table(spec, var, recorder, m.references).size
        touching = [n for n in names if moves[n] & recorder.read]
        for name in names:
            if name not in touching:
                assert feeding[name] != var.name, f"{name} does not change the table of {var.name}"
        per_chunk = max(1, 20_000_000 // (len(steps) * size))  # keeps each batch of tables near 160 MB
        for start in range(0, len(touching), per_chunk):
            chunk = touching[start : start + per_chunk]
            values = _perturbations(m, chunk, steps)
            cpt = tables.build_table(spec, var, values, m.references)
            cpt = cpt.reshape(len(chunk), len(steps), -1)
            t0, t1, t2 = cpt[:, 0], cpt[:, 1], cpt[:, 2]
            scale = np.abs(t0).max(axis=1) + 1e-300
            moved = np.abs(t1 - t0).max(axis=1)
            curvature = np.abs(t2 - 2 * t1 + t0).max(axis=1) / scale
            for i, name in enumerate(chunk):
                if feeding[name] == var.name:
                    assert moved[i] > 0, f"{name} does not change the table of {var.name}"
                    assert curvature[i] < 1e-10, f"{name} enters the table of {var.name} non-linearly"
                else:
                    assert moved[i] == 0, f"{name} changes the table of {var.name} as well as {feeding[name]}"


def test_formula_inputs_feed_no_table(model):
    derived_inputs = model.parameters["feeds_formulas"].dropna().index
    assert "oms.nb_fraction" in derived_inputs
    assert model.table_of("oms.nb_fraction") is None


def test_noisy_or_gives_literature_frequency_and_leak(model):
    """P(finding | only condition j) = F_j and P(finding | no condition) = leak, at every age."""
    cpt = model.tables["ataxia"]
    parents = model.parents("ataxia")
    none = [0] * len(parents)
    for age_index, age in enumerate(model.age_states):
        idx = list(none)
        idx[parents.index("age")] = age_index
        leak = model.values["ataxia.leak.paediatric" if age_index < 4 else f"ataxia.leak.{age}"]
        assert cpt[(1, *idx)] == pytest.approx(leak, rel=1e-12)
        only_oms = list(idx)
        only_oms[parents.index("oms")] = 1
        f_oms = model.values["ataxia.oms" if age_index < 4 else "ataxia.oms.adults"]  # adults: first-visit figure
        assert cpt[(1, *only_oms)] == pytest.approx(f_oms, rel=1e-12)
        both = list(only_oms)
        both[parents.index("aca")] = 1
        expected = 1 - (1 - f_oms) * (1 - model.values["ataxia.aca"])
        assert cpt[(1, *both)] == pytest.approx(expected, rel=1e-12)


def test_context_specific_test_sensitivity(model):
    """Urine catecholamines: lower sensitivity for OMS-associated tumours (GAPS.md section 4)."""
    cpt = model.tables["urine_catecholamines"]  # [state, neuroblastoma, oms]
    assert cpt[1, 1, 1] == pytest.approx(model.values["urine_catecholamines.neuroblastoma.with_oms"])
    assert cpt[1, 1, 0] == pytest.approx(model.values["urine_catecholamines.neuroblastoma.without_oms"])
    assert cpt[1, 0, 0] == pytest.approx(model.values["urine_catecholamines.false_positive"])
    assert cpt[1, 0, 1] == pytest.approx(model.values["urine_catecholamines.false_positive"])


def test_triggered_condition_reproduces_incidence_and_trigger_frequency(model):
    """Bayes' rule at the reference prevalence: P(aca | age) = rate and P(infection | aca) = pi."""
    inf = model.tables["recent_infection"]  # [state, age]
    aca = model.tables["aca"]  # [state, age, recent_infection]
    pi = model.values["aca.p_recent_infection"]
    for a, age in enumerate(model.age_states):
        joint_present = inf[1, a] * aca[1, a, 1]
        marginal = joint_present + inf[0, a] * aca[1, a, 0]
        rate_name = f"aca.incidence.{age}" if age not in ("adult", "older_adult") else "aca.incidence.adults"
        assert marginal == pytest.approx(model.values[rate_name], rel=1e-12)
        assert joint_present / marginal == pytest.approx(pi, rel=1e-12)


def test_noisy_max_onset(model):
    """Onset: one condition gives its own distribution; two give the more acute (noisy-MAX)."""
    cpt = model.tables["onset"]
    parents = model.parents("onset")
    idx = [0] * len(parents)
    np.testing.assert_allclose(cpt[(slice(None), *idx)], [model.values[f"onset.leak.{s}"] for s in model.states("onset")])
    only_sca = list(idx)
    only_sca[parents.index("spinocerebellar_ataxia")] = 1
    np.testing.assert_allclose(
        cpt[(slice(None), *only_sca)], [model.values[f"onset.spinocerebellar_ataxia.{s}"] for s in model.states("onset")]
    )
    both = list(only_sca)
    both[parents.index("intoxication")] = 1
    chronic = model.values["onset.spinocerebellar_ataxia.chronic"] * model.values["onset.intoxication.chronic"]
    at_most_sub = (
        (model.values["onset.spinocerebellar_ataxia.chronic"] + model.values["onset.spinocerebellar_ataxia.subacute"])
        * (model.values["onset.intoxication.chronic"] + model.values["onset.intoxication.subacute"])
    )
    acute, subacute, _ = model.states("onset")
    assert cpt[(model.states("onset").index("chronic"), *both)] == pytest.approx(chronic)
    assert cpt[(model.states("onset").index(subacute), *both)] == pytest.approx(at_most_sub - chronic)
    assert cpt[(model.states("onset").index(acute), *both)] == pytest.approx(1 - at_most_sub)


def test_reference_prevalence_is_frozen_at_file_values(model):
    """Changing infection prevalence changes the incidence of triggered conditions (causal semantics)."""
    doubled = model.with_parameters({"recent_infection.prevalence.infant_toddler": 0.9})
    np.testing.assert_array_equal(doubled.references["recent_infection"], model.references["recent_infection"])
    assert doubled.tables["aca"][1, 1, 1] == model.tables["aca"][1, 1, 1]
    before = model.query(["aca"], {}, age=2)["aca"]["present"]
    after = doubled.query(["aca"], {}, age=2)["aca"]["present"]
    assert after > before


def test_restricted_tables_are_slices_of_full_tables(model):
    """Building only the observed slice (for thousands of draws) gives exactly the full table's slice."""
    from omsbayes.uncertainty_draws import draw_parameters

    values = draw_parameters(model, 7, rng=3)
    restrict = {"age": 1, "ataxia": 1, "onset": 1, "opsoclonus": 0, "oms": 1, "urine_catecholamines": 1}
    for name in ("ataxia", "onset", "opsoclonus", "urine_catecholamines", "oms", "recent_infection", "age", "abdominal_mass"):
        var = model.spec.variables[name]
        full = tables.build_table(model.spec, var, values, model.references)
        part = tables.build_table(model.spec, var, values, model.references, restrict)
        axes = (name, *var.parents)
        index = (slice(None),) + tuple(slice(restrict[a], restrict[a] + 1) if a in restrict else slice(None) for a in axes)
        np.testing.assert_array_equal(part, full[index], err_msg=name)


def test_batch_last_layout_gives_the_same_tables(model):
    """Draws built in one batch equal the tables built one draw at a time."""
    from omsbayes.uncertainty_draws import draw_parameters

    values = draw_parameters(model, 3, rng=11)
    batched = tables.build_tables(model.spec, values, model.references)
    for i in range(3):
        single = tables.build_tables(model.spec, {k: v[i] for k, v in values.items()}, model.references)
        for name in ("ataxia", "onset", "oms", "anti_hu", "age"):
            np.testing.assert_array_equal(batched[name][i], single[name], err_msg=name)
