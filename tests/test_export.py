"""Exchange formats: every table comes back from every format pgmpy reads, as the same doubles."""

from __future__ import annotations

import numpy as np
import pytest

from omsbayes.cli import main
from omsbayes.export import FORMATS, ExportError, export_model, format_of, import_model_tables, uai_order

# pgmpy's BIF and NET readers take 10-40 s each on the default model (pyparsing)
# and its UAI reader minutes, so every format round-trips the tiny model (every
# table kind, a three-state finding, two-parent tables) and the default model
# round-trips in XMLBIF and XDSL; tests/test_pyagrum.py reads every default-model
# export with pyAgrum, and the full-precision test below checks the written digits.


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


@pytest.mark.parametrize("fmt", ["xmlbif", "xdsl"])
def test_default_model_round_trips(model, tmp_path, fmt):
    path = export_model(model, tmp_path / "model", format=fmt)
    assert_same_tables(model, import_model_tables(path, format=fmt))


@pytest.mark.parametrize("fmt", FORMATS)
def test_numbers_keep_full_double_precision(model, tmp_path, fmt):
    """The smallest and an unrounded entry of the model are written digit for digit.

    pgmpy 1.1.2's own NET writer rounds to 8 decimals (the smallest entry,
    5.7e-13, would become 0) and its XDSL writer to 16 decimals.
    """
    smallest = min(float(t.min()) for t in model.tables.values())
    unrounded = float(model.tables["oms"][1, 1, 0, 0, 0])  # P(oms | toddler, no infection, no tumour): derived
    assert smallest < 1e-12 and len(repr(unrounded)) > 15
    text = export_model(model, tmp_path / f"model{FORMATS[fmt]}").read_text()
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


def test_export_writes_the_overridden_tables(model, tmp_path):
    changed = model.with_parameters({"opsoclonus.oms": 0.5})
    path = changed.export(tmp_path / "changed.bifxml")
    tables = import_model_tables(path)
    assert np.array_equal(tables["opsoclonus"][2], changed.tables["opsoclonus"])
    assert not np.array_equal(tables["opsoclonus"][2], model.tables["opsoclonus"])


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
    with pytest.raises(ExportError, match=r"does not fit model oms_ddx: it has 9 variables, the model 55\."):
        import_model_tables(path, model=model)


def test_cli_export(tmp_path, capsys, monkeypatch):
    out = tmp_path / "oms.bifxml"
    assert main(["model", "export", "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    assert import_model_tables(out)["oms"][1] == ("age", "recent_infection", "neuroblastoma", "systemic_cancer")
    monkeypatch.chdir(tmp_path)
    assert main(["model", "export", "--format", "uai"]) == 0
    assert capsys.readouterr().out.strip() == "oms_ddx.uai"
    assert (tmp_path / "oms_ddx.uai").read_text().startswith("BAYES\n55\n")


def test_cli_export_errors(tmp_path, capsys):
    assert main(["model", "export"]) == 2
    assert "Say which format to write: --format {bif,xmlbif,net,uai,xdsl} or --out FILE" in capsys.readouterr().err
    assert main(["model", "export", "--format", "bif", "--out", str(tmp_path / "m.net")]) == 2
    assert "the suffix of net files, but the format asked for is bif" in capsys.readouterr().err
