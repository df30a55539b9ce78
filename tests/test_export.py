"""Exchange formats: every table comes back from every format pgmpy reads, as the same doubles."""

from __future__ import annotations

import numpy as np
import pytest

from omsbayes.cli import main
from omsbayes.export import FORMATS, ExportError, export_model, format_of, import_model_tables, uai_order

# Model 2.0 has noisy-OR tables of up to 18 parents (5 million entries in all):
# pgmpy's XMLBIF, XDSL, BIF and NET writers take many minutes on it and its
# readers longer, so every format round-trips the tiny model (every table kind,
# a three-state finding, two-parent tables); the default model is exported in
# UAI (about 13 s, 87 MB) and checked digit for digit below, and
# tests/test_pyagrum.py checks pyAgrum's exact inference on the default model
# built from the same tables.


def assert_same_tables(model, tables) -> None:
    """Every variable with its states, parents and table, exactly (full double precision)."""
    assert sorted(tables) == sorted(model.variables)
    for name in model.variables:
        states, parents, table = tables[name]
        assert states == model.states(name), name
        assert parents == model.parents(name), name
        np.testing.assert_allclose(table, model.tables[name], rtol=0, atol=1e-12, err_msg=name)
        assert np.array_equal(table, model.tables[name]), f"{name}: not the same doubles"


@pytest.fixture
def odd_tiny(tiny):
    """The tiny model with values whose decimals do not end (1/3, 2/7): rounding would show."""
    return tiny.with_parameters({"oms.opsoclonus": 1 / 3, "aca.opsoclonus": 2 / 7})


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_round_trips_every_table(odd_tiny, tmp_path, fmt):
    path = odd_tiny.export(tmp_path / f"tiny{FORMATS[fmt]}")
    assert path.is_file()
    assert_same_tables(odd_tiny, import_model_tables(path, model=odd_tiny))


@pytest.fixture(scope="module")
def default_uai(model, tmp_path_factory):
    return export_model(model, tmp_path_factory.mktemp("uai") / "oms_ddx.uai")


def test_default_model_exports_every_table_in_uai(model, default_uai):
    lines = default_uai.read_text().split("\n", 3)
    assert lines[0] == "BAYES" and int(lines[1]) == len(model.variables)
    assert lines[2].split() == [str(len(model.states(v))) for v in uai_order(model)]


def _tiny_precision_model(tiny):
    """The tiny model with a table entry near 1e-13 and one whose decimals do not end."""
    return tiny.with_parameters({"nb.rate.adults": 5.7e-13, "oms.p_given_nb": 2 / 7})


@pytest.mark.parametrize("fmt", FORMATS)
def test_numbers_keep_full_double_precision(tiny, model, default_uai, tmp_path, fmt):
    """The smallest and an unrounded entry are written digit for digit.

    pgmpy 1.1.2's own NET writer rounds to 8 decimals (5.7e-13 would become 0)
    and its XDSL writer to 16 decimals. The default model is checked in UAI.
    """
    precise = _tiny_precision_model(tiny)
    smallest = min(float(t.min()) for t in precise.tables.values())
    unrounded = max((float(x) for t in precise.tables.values() for x in t.ravel()), key=lambda x: len(repr(x)))
    assert smallest < 1e-12 and len(repr(unrounded)) > 15
    text = export_model(precise, tmp_path / f"model{FORMATS[fmt]}").read_text()
    if fmt == "uai":  # and the default model's own smallest and derived entries
        big = default_uai.read_text()
        for x in (min(float(t.min()) for t in model.tables.values()), float(model.tables["oms"][1, 1, 0, 0, 0])):
            assert np.format_float_positional(x, unique=True, trim="0") in big
    for x in (smallest, unrounded):
        written = np.format_float_positional(x, unique=True, trim="0") if fmt == "uai" else repr(x)
        assert written in text, f"{x!r} is not written in full in the {fmt} file"


def test_uai_numbers_variables_and_states(tiny, tmp_path):
    path = tiny.export(tmp_path / "tiny.uai")
    tables = import_model_tables(path)
    order = uai_order(tiny)
    assert sorted(tables) == sorted(f"var_{i}" for i in range(len(order)))
    onset = tables[f"var_{order.index('onset')}"]
    assert onset[0] == ("0", "1", "2")
    assert onset[1] == tuple(f"var_{order.index(p)}" for p in tiny.parents("onset"))
    assert np.array_equal(onset[2], tiny.tables["onset"])


def test_export_writes_the_overridden_tables(tiny, tmp_path):
    changed = tiny.with_parameters({"oms.p_given_nb": 0.5})
    path = changed.export(tmp_path / "changed.bifxml")
    tables = import_model_tables(path)
    assert np.array_equal(tables["oms"][2], changed.tables["oms"])
    assert not np.array_equal(tables["oms"][2], tiny.tables["oms"])


def test_xdsl_export_is_the_same_file_every_time(tiny, tmp_path):
    """pgmpy's XDSL writer places nodes at random; the export uses the rows of the network drawing."""
    first = tiny.export(tmp_path / "a.xdsl").read_bytes()
    second = tiny.export(tmp_path / "b.xdsl").read_bytes()
    assert first == second
    assert b'<node id="age">' in first and b"<position>" in first


@pytest.mark.parametrize(
    "path, fmt, expected",
    [
        ("m.bif", None, "bif"),
        ("m.BIFXML", None, "xmlbif"),
        ("m.xml", None, "xmlbif"),
        ("m.dat", "uai", "uai"),
        ("m.net", "NET", "net"),
    ],
)
def test_format_from_suffix_or_argument(path, fmt, expected):
    assert format_of(path, fmt) == expected


@pytest.mark.parametrize(
    "path, fmt, match",
    [
        ("m.bif", "hugin", r"The format must be one of 'bif', 'xmlbif', 'net', 'uai', 'xdsl'\. Got 'hugin' instead\."),
        ("m.bif", "xmlbf", r"Did you mean 'xmlbif'\?"),
        ("m.net", "bif", r"ends in '\.net', the suffix of net files, but the format asked for is bif\."),
        ("m.txt", None, r"Cannot tell the format of 'm\.txt' from its suffix"),
    ],
)
def test_format_errors(path, fmt, match):
    with pytest.raises(ExportError, match=match):
        format_of(path, fmt)


def test_export_into_a_missing_folder(tiny, tmp_path):
    with pytest.raises(ExportError, match=r"the folder '.*nowhere' does not exist\."):
        tiny.export(tmp_path / "nowhere" / "tiny.bif")


def test_import_errors(tiny, model, tmp_path):
    with pytest.raises(ExportError, match=r"Cannot read '.*absent\.bif': there is no such file\."):
        import_model_tables(tmp_path / "absent.bif")
    garbage = tmp_path / "garbage.bifxml"
    garbage.write_text("not a network")
    with pytest.raises(ExportError, match=r"Cannot read '.*garbage\.bifxml' as xmlbif: "):
        import_model_tables(garbage)
    path = tiny.export(tmp_path / "tiny.uai")
    with pytest.raises(ExportError, match=rf"does not fit model oms_ddx: it has 9 variables, the model {len(model.variables)}\."):
        import_model_tables(path, model=model)


def test_cli_export(tmp_path, capsys, monkeypatch):
    from .conftest import TINY_MODEL

    out = tmp_path / "tiny.bifxml"
    assert main(["--model", str(TINY_MODEL), "model", "export", "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    assert import_model_tables(out)["oms"][1] == ("age", "recent_infection", "neuroblastoma")
    monkeypatch.chdir(tmp_path)
    assert main(["--model", str(TINY_MODEL), "model", "export", "--format", "uai"]) == 0
    assert capsys.readouterr().out.strip() == "tiny.uai"
    assert (tmp_path / "tiny.uai").read_text().startswith("BAYES\n9\n")


def test_cli_export_errors(tmp_path, capsys):
    assert main(["model", "export"]) == 2
    assert "Say which format to write: --format {bif,xmlbif,net,uai,xdsl} or --out FILE" in capsys.readouterr().err
    assert main(["model", "export", "--format", "bif", "--out", str(tmp_path / "m.net")]) == 2
    assert "the suffix of net files, but the format asked for is bif" in capsys.readouterr().err
