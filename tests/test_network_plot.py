"""The network drawing: checked on its artists (nodes, labels, arrows, colours), never on pixels."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.colors import to_rgba
from matplotlib.patches import FancyArrowPatch

from omsbayes.plotting import plot_network
from omsbayes.plotting.network import ROLE_COLORS, PlotError, binary_entropy, network_layout, network_rows, node_cmap


def nodes_of(ax):
    (nodes,) = [c for c in ax.collections if c.get_gid() == "nodes"]
    return nodes


def labels_of(ax) -> dict[str, str]:
    return {t.get_gid(): t.get_text() for t in ax.texts if t.get_gid()}


@pytest.fixture(scope="module")
def dx(model):
    return model.diagnose({"opsoclonus": "present", "ataxia": "present", "myoclonus": "present"}, age=1.5)


def test_one_node_label_and_arrow_per_variable_and_edge(model):
    ax = plot_network(model)
    positions = network_layout(model)
    nodes = nodes_of(ax)
    assert len(nodes.get_offsets()) == len(model.variables)
    np.testing.assert_allclose(nodes.get_offsets(), [positions[v] for v in model.variables])
    labels = labels_of(ax)
    assert sorted(labels) == sorted(model.variables)
    assert all(" ".join(labels[v].split()) == model.label(v) for v in model.variables)
    arrows = [p for p in ax.patches if isinstance(p, FancyArrowPatch)]
    assert len(arrows) == sum(len(model.parents(v)) for v in model.variables)
    faces = nodes.get_facecolors()
    for i, v in enumerate(model.variables):
        np.testing.assert_allclose(faces[i], to_rgba(ROLE_COLORS[model.role(v)]))
    assert [t.get_text() for t in ax.get_legend().get_texts()] == list(ROLE_COLORS)


def test_rows_by_role(model, tiny):
    rows = network_rows(model)
    assert list(rows) == ["age, history and causes", "conditions", "findings", "tests"]
    assert set(rows["age, history and causes"]) == {"age", *model.history, "neuroblastoma", "systemic_cancer"}
    assert set(rows["conditions"]) == set(model.conditions + model.residual_conditions) - {"neuroblastoma", "systemic_cancer"}
    assert set(rows["findings"]) == set(model.findings) and set(rows["tests"]) == set(model.tests)
    positions = network_layout(model)
    assert positions["age"][1] > positions["recent_infection"][1] > positions["oms"][1]
    assert max(positions[v][1] for v in model.tests) < min(positions[v][1] for v in model.conditions)
    assert all(0 < x < 1 for x, _ in positions.values())
    assert sum(len(r) for r in network_rows(tiny).values()) == len(tiny.variables)


def test_coloured_by_posterior(model, dx):
    ax = plot_network(model, diagnosis=dx)
    nodes = nodes_of(ax)
    faces, widths = nodes.get_facecolors(), nodes.get_linewidths()
    (colorbar_ax,) = [a for a in ax.figure.axes if a is not ax]
    assert colorbar_ax._colorbar.cmap.name == "posterior"
    assert colorbar_ax.get_ylabel() == "posterior probability"
    cmap = node_cmap("posterior")
    labels = labels_of(ax)
    for i, v in enumerate(model.variables):
        if v in model.conditions:
            np.testing.assert_allclose(faces[i], cmap(dx.posterior[v]), atol=1e-6)
            assert labels[v].endswith("%")
        else:
            np.testing.assert_allclose(faces[i], (1, 1, 1, 1))
        observed = v in ("opsoclonus", "ataxia", "myoclonus", "age") or v in model.spec.selection and v in dx.evidence.hard
        assert widths[i] == (2.2 if observed else 0.8), v
    # OMS is the darkest node: the highest posterior
    darkness = {v: 1 - faces[i][:3].mean() for i, v in enumerate(model.variables)}
    assert max(darkness, key=darkness.get) == "oms" == dx.top
    from omsbayes.plotting.style import percent

    assert labels["oms"].endswith("\n" + percent(dx.posterior["oms"]))
    assert "coloured by posterior probability" in " ".join(ax.get_title().split())


def test_coloured_by_entropy(model, dx):
    ax = plot_network(model, diagnosis=dx, color_by="entropy")
    labels = labels_of(ax)
    for c in model.conditions:
        assert labels[c].endswith(f"H = {float(binary_entropy(dx.posterior[c])):.2f}")
    faces = nodes_of(ax).get_facecolors()
    cmap = node_cmap("entropy")
    for i, c in enumerate(model.variables):
        if c in model.conditions:
            np.testing.assert_allclose(faces[i], cmap(float(binary_entropy(dx.posterior[c]))), atol=1e-6)
    # neuroblastoma (P near 0.5) is the most uncertain condition, so the most coloured
    whiteness = {v: faces[i][:3].mean() for i, v in enumerate(model.variables) if v in model.conditions}
    assert min(whiteness, key=whiteness.get) == "neuroblastoma"


def test_binary_entropy():
    np.testing.assert_allclose(binary_entropy([0.0, 0.5, 1.0, 0.11]), [0.0, 1.0, 0.0, 0.4999159], atol=1e-6)


def test_draws_on_a_given_axes(tiny):
    import matplotlib.pyplot as plt

    _, ax = plt.subplots()
    assert plot_network(tiny, ax=ax) is ax
    assert len(nodes_of(ax).get_offsets()) == 9


def test_errors(model, dx):
    allowed = r"must be one of 'role', 'posterior', 'entropy'\. Got 'risk' instead\."
    with pytest.raises(PlotError, match=r"The 'color_by' parameter of plot_network " + allowed):
        plot_network(model, color_by="risk")
    with pytest.raises(PlotError, match=r"plot_network needs a diagnosis to colour nodes by entropy"):
        plot_network(model, color_by="entropy")
