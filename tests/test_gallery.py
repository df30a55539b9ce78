"""The plot gallery: `omsbayes plots` writes every plot kind; each gallery plot draws its result."""

from __future__ import annotations

import contextlib
import io
import struct

import matplotlib.pyplot as plt
import numpy as np
import pytest

import omsbayes
from omsbayes.plotting.sensitivity import VISIBLE_FRACTION
from omsbayes import EvidenceError
from omsbayes.cli import main
from omsbayes.gallery import DEMO_CASE, at_presentation, gallery_plots, write_gallery

EXPECTED = [
    "prior_vs_posterior",
    "evidence_trajectory",
    "evidence_impact_at_presentation",
    "tornado_at_presentation",
    "uncertainty_at_presentation",
    "value_of_information_at_presentation",
    "what_if_at_presentation",
    "age_sweep",
    "parameter_sweep_at_presentation",
    "network",
    "natural_frequencies",
    "calibration",
]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _png_size(path):
    head = path.read_bytes()[:24]
    assert head[:8] == PNG_SIGNATURE, f"{path.name} is not a PNG"
    return struct.unpack(">II", head[16:24])


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("plots")
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        code = main(["plots", "--out", str(out), "--draws", "60"])
    return code, stdout.getvalue().splitlines(), out


def test_plots_command_writes_every_plot_kind(cli_run):
    code, printed, out = cli_run
    assert code == 0
    assert printed == [str(out / f"{name}.png") for name in EXPECTED]
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{name}.png" for name in EXPECTED)
    for name in EXPECTED:
        path = out / f"{name}.png"
        width, height = _png_size(path)
        assert path.stat().st_size > 10_000 and width > 400 and height > 250, name
    plt.close("all")
    assert plt.get_fignums() == []


def test_gallery_lists_the_expected_plots(model):
    plots = gallery_plots(model)
    assert [p.name for p in plots] == EXPECTED
    assert all(p.description for p in plots)


def test_only_writes_the_named_plots(model, tmp_path):
    written = write_gallery(model, tmp_path, only=["calibration", "age_sweep"])
    assert written == [tmp_path / "age_sweep.png", tmp_path / "calibration.png"]  # gallery order
    assert sorted(p.name for p in tmp_path.iterdir()) == ["age_sweep.png", "calibration.png"]
    typo = "no gallery plot 'tornado_at_presentaton'.*Did you mean 'tornado_at_presentation'"
    with pytest.raises(EvidenceError, match=typo):
        write_gallery(model, tmp_path, only=["tornado_at_presentaton"])


def test_plots_command_errors(tmp_path, capsys):
    assert main(["plots", "--out", str(tmp_path), "--draws", "0"]) == 2
    assert "--draws must be a positive number" in capsys.readouterr().err
    assert main(["plots", "--out", str(tmp_path), "--only", "netwrok"]) == 2
    assert "Did you mean 'network'" in capsys.readouterr().err


def test_at_presentation_keeps_the_signs_only(model):
    case = omsbayes.load_public_vignettes()[DEMO_CASE]
    signs = at_presentation(model, case.evidence)
    assert signs == {"ataxia": "present", "opsoclonus": "present", "myoclonus": "present", "onset": "subacute"}


# ---------------------------------------------------------------------------
# every plot kind, on its artists
# ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def drawn(model):
    out = {}
    for plot in gallery_plots(model, draws=60):
        result = plot.compute()
        out[plot.name] = (result, plot.draw(result))
    return out


def _ax(drawn, name):
    result, figure = drawn[name]
    return result, figure.axes[0]


def test_prior_vs_posterior(drawn):
    dx, ax = _ax(drawn, "prior_vs_posterior")
    prior, posterior = ax.containers
    table = dx.table.iloc[::-1]
    assert np.allclose([b.get_width() for b in posterior], table["posterior"])
    assert np.allclose([b.get_width() for b in prior], table["prior"])
    assert [t.get_text() for t in ax.get_yticklabels()] == list(table["label"])


def test_evidence_trajectory(drawn, model):
    trajectory, ax = _ax(drawn, "evidence_trajectory")
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert ticks[0] == "age only" and ticks[1] == "+ Ataxia = present"
    assert ticks[-2:] == ["+ Abdominal mass = present", "+ Urine catecholamines (VMA/HVA) = positive"]
    lines = {line.get_label(): line.get_ydata() for line in ax.lines}
    assert np.allclose(lines[model.label("neuroblastoma")], trajectory.wide()["neuroblastoma"])


def test_evidence_impact(drawn):
    impact, ax = _ax(drawn, "evidence_impact_at_presentation")
    summary = impact.summary.iloc[::-1]
    bars = ax.containers[0]
    assert np.allclose([b.get_x() for b in bars], summary["p_top_without"])
    assert np.allclose([b.get_x() + b.get_width() for b in bars], summary["p_top_with"])


def test_tornado(drawn):
    sensitivity, ax = _ax(drawn, "tornado_at_presentation")
    assert sensitivity.target == "neuroblastoma"
    low, high = ax.containers
    head = sensitivity.table.head(15)
    table = head[head["swing"] > VISIBLE_FRACTION * head["swing"].max()].iloc[::-1]  # rows with visible bars
    assert np.allclose([b.get_x() + b.get_width() for b in low], table["posterior_low"])
    assert np.allclose([b.get_x() + b.get_width() for b in high], table["posterior_high"])
    assert ax.get_yticklabels()[-1].get_text() == sensitivity.table["label"].iloc[0]


def test_uncertainty(drawn):
    unc, ax = _ax(drawn, "uncertainty_at_presentation")
    assert unc.draws == 60
    point = next(line for line in ax.lines if line.get_label() == "point estimate")
    assert np.allclose(point.get_xdata(), unc.table.head(6)["point"].iloc[::-1])


def test_value_of_information(drawn):
    voi, ax = _ax(drawn, "value_of_information_at_presentation")
    table = voi.table.head(12).iloc[::-1]
    assert np.allclose([b.get_width() for b in ax.containers[0]], table["expected_entropy_reduction"])
    assert ax.get_yticklabels()[-1].get_text() == "Body imaging shows a mass"


def test_what_if(drawn):
    what_if, ax = _ax(drawn, "what_if_at_presentation")
    assert [c.get_label() for c in ax.containers] == list(what_if.scenarios["scenario"])


def test_age_sweep(drawn, model):
    sweep, ax = _ax(drawn, "age_sweep")
    assert len(ax.get_xticklabels()) == len(model.age_states)
    lines = {line.get_label(): line.get_ydata() for line in ax.lines}
    assert np.allclose(lines[model.label("systemic_cancer")], sweep.wide()["systemic_cancer"])


def test_parameter_sweep(drawn, model):
    sweep, ax = _ax(drawn, "parameter_sweep_at_presentation")
    tornado, _ = drawn["tornado_at_presentation"]
    name = tornado.table["parameter"].iloc[0]
    assert ax.get_xlabel() == model.parameters.loc[name, "means"]
    line = next(line for line in ax.lines if line.get_label() == model.label("neuroblastoma"))
    assert np.allclose(line.get_xdata(), sweep.points["value"])
    assert np.allclose(line.get_ydata(), sweep.wide()["neuroblastoma"])


def test_network(drawn, model):
    dx, ax = _ax(drawn, "network")
    nodes = next(c for c in ax.collections if c.get_gid() == "nodes")
    assert len(nodes.get_offsets()) == len(model.variables)
    assert dx.top == "oms"


def test_natural_frequencies(drawn):
    freq, figure = drawn["natural_frequencies"]
    top, bottom = figure.axes
    assert top.get_title() == "Split by Neuroblastoma first"
    assert bottom.get_title() == "Split by Opsoclonus-myoclonus syndrome first"
    assert len(top.texts) == len(bottom.texts) == 7
    assert freq.who == "toddler-years"


def test_calibration(drawn):
    evaluation, ax = _ax(drawn, "calibration")
    line = next(line for line in ax.lines if line.get_label() == "model")
    assert np.allclose(line.get_ydata(), evaluation.calibration["observed"])
