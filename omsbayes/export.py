"""Open the model in other tools: exchange formats written with pgmpy's writers.

=========  ===============  ============================  =================================
format     suffix           opens in                      names kept
=========  ===============  ============================  =================================
bif        ``.bif``         pgmpy, pyAgrum, bnlearn (R),  variables and states
                            JavaBayes, Weka
xmlbif     ``.bifxml``,     pgmpy, pyAgrum, Weka,         variables and states
           ``.xmlbif``,     JavaBayes
           ``.xml``
net        ``.net``         Hugin, GeNIe, pgmpy, pyAgrum  variables and states
uai        ``.uai``         UAI solvers (Merlin, libDAI,  none: variables and states are
                            toulbar2), pyAgrum            numbers (see below)
xdsl       ``.xdsl``        GeNIe / SMILE, pgmpy,         variables and states, and a layout
                            pyAgrum                       (the rows of the drawing)
=========  ===============  ============================  =================================

Every probability is written as the shortest decimal that reads back as the
same double (``repr``), so a file read back gives every table exactly; pgmpy
1.1.2's own NET and XDSL writers round (8 decimals; ``%.16f``) and its UAI
writer does not use the UAI format's table order, so omsbayes mends them in
:mod:`omsbayes.engine.pgmpy_adapter`. Tables keep each format's own order:
in UAI the last variable of a scope changes fastest, in XDSL (SMILE) the last
parent.

UAI holds no names. Variable ``i`` of the file is the ``i``-th of the model's
variables sorted by (number of states as text, name), pgmpy's order, and the
states of each are numbered in the model's order; pass ``model=`` to
:func:`import_model_tables` to get the names back.

Reading back (:func:`import_model_tables`) uses pgmpy's readers. BIF and NET
are slow for this model (pyparsing: about 15 s and 10 s); pgmpy's UAI reader
parses the file once per table, which takes minutes beyond small networks,
and its ``get_model`` takes each table's parent order from a set, so omsbayes
assembles UAI tables from the parse itself.

pyAgrum (``pyagrum.loadBN``, which needs the ``.bifxml`` suffix for XMLBIF)
reads every export in well under a second, and the XMLBIF one exactly; but
pyAgrum 3.3 reads BIF, NET and UAI numbers in single precision, and lays out
UAI and XDSL tables of two or more parents with the first parent changing
fastest, so they come out permuted. Use XMLBIF with pyAgrum.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .engine.pgmpy_adapter import read_network_tables, write_network
from .errors import OmsBayesError, did_you_mean

if TYPE_CHECKING:  # pragma: no cover
    from .model import DiagnosticModel

__all__ = [
    "to_pyagrum",
    "ExportError",
    "FORMATS",
    "SUFFIXES",
    "export_model",
    "import_model_tables",
    "format_of",
    "writable",
    "uai_order",
]

#: Every format and the suffix ``omsbayes model export`` gives its file.
FORMATS = {"bif": ".bif", "xmlbif": ".bifxml", "net": ".net", "uai": ".uai", "xdsl": ".xdsl"}
#: Suffix -> format, for telling the format from a file name.
SUFFIXES = {
    ".bif": "bif",
    ".bifxml": "xmlbif",
    ".xmlbif": "xmlbif",
    ".xml": "xmlbif",
    ".net": "net",
    ".uai": "uai",
    ".xdsl": "xdsl",
}

#: Pixels per unit of :func:`omsbayes.plotting.network.network_layout`, for GeNIe.
_XDSL_SCALE = (1600, 170)


class ExportError(OmsBayesError, ValueError):
    """A format, file name or file that omsbayes cannot write or read."""


def format_of(path: str | Path, format: str | None = None) -> str:
    """The exchange format for ``path``: ``format`` if given, else the one its suffix names.

    Raises
    ------
    ExportError
        For an unknown format, a suffix that names another format than the
        one given, or a suffix that names none when no format is given.
    """
    suffix = Path(path).suffix.lower()
    named = SUFFIXES.get(suffix)
    if format is None:
        if named is None:
            raise ExportError(
                f"Cannot tell the format of '{path}' from its suffix; give a format "
                f"({', '.join(FORMATS)}) or a file name ending in one of {', '.join(SUFFIXES)}."
            )
        return named
    fmt = str(format).lower()
    if fmt not in FORMATS:
        raise ExportError(
            f"The format must be one of {', '.join(map(repr, FORMATS))}. Got {format!r} instead."
            + did_you_mean(fmt, FORMATS)
        )
    if named is not None and named != fmt:
        raise ExportError(
            f"The file name '{path}' ends in '{suffix}', the suffix of {named} files, but the format asked for is {fmt}."
        )
    return fmt


def _xdsl_layout(model: DiagnosticModel) -> dict[str, tuple[int, int]]:
    """Pixel positions for GeNIe: the rows of :func:`~omsbayes.plotting.network.network_layout`."""
    from .plotting.network import network_layout

    positions = network_layout(model)
    top = max(y for _, y in positions.values())
    sx, sy = _XDSL_SCALE
    return {name: (int(round(20 + x * sx)), int(round(20 + (top - y) * sy))) for name, (x, y) in positions.items()}


def export_model(model: DiagnosticModel, path: str | Path, format: str | None = None) -> Path:
    """Write the model in an exchange format (BIF, XMLBIF, NET, UAI or XDSL) with pgmpy's writer.

    Parameters
    ----------
    model : DiagnosticModel
    path : str or Path
        The file to write (replaced if it exists).
    format : {"bif", "xmlbif", "net", "uai", "xdsl"}, optional
        Default: told from the suffix of ``path`` (see :data:`SUFFIXES`).

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    ExportError
        For an unknown format or suffix, or a folder that does not exist.

    See Also
    --------
    import_model_tables : read a file back into tables.

    Notes
    -----
    Every probability keeps full double precision; state names are kept in
    every format but UAI, which numbers variables and states (see the module
    docstring for the order). The tables written are the model's current
    ones, parameter overrides included.

    Examples
    --------
    >>> import omsbayes, tempfile, pathlib
    >>> model = omsbayes.load_model()
    >>> path = model.export(pathlib.Path(tempfile.mkdtemp()) / "oms_ddx.bifxml")
    >>> path.suffix
    '.bifxml'
    """
    fmt = format_of(path, format)
    path = writable(path)
    layout = _xdsl_layout(model) if fmt == "xdsl" else None
    write_network(model, path, fmt, layout=layout)
    return path


def writable(path: str | Path) -> Path:
    """``path`` as a Path, if its folder exists.

    Raises
    ------
    ExportError
        When the folder does not exist.
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise ExportError(f"Cannot write '{path}': the folder '{path.parent}' does not exist.")
    return path


def uai_order(model: DiagnosticModel) -> list[str]:
    """The model's variables in the order a UAI export numbers them (``var_0``, ``var_1``, ...)."""
    return sorted(model.variables, key=lambda name: (str(len(model.states(name))), name))


def import_model_tables(
    path: str | Path, format: str | None = None, model: DiagnosticModel | None = None
) -> dict[str, tuple[tuple[str, ...], tuple[str, ...], np.ndarray]]:
    """Read a network file back with pgmpy's reader for its format.

    Parameters
    ----------
    path : str or Path
    format : {"bif", "xmlbif", "net", "uai", "xdsl"}, optional
        Default: told from the suffix.
    model : DiagnosticModel, optional
        For UAI only, which holds no names: name the variables and states of
        the file after the model's (by index, see :func:`uai_order`).

    Returns
    -------
    dict
        Variable -> ``(states, parents, table)`` with ``table`` an array
        ``[state, *parents]`` (the layout of ``DiagnosticModel.tables``).
        From UAI without ``model``, variables are ``var_0``, ``var_1``, ...
        and states ``"0"``, ``"1"``, ...

    Raises
    ------
    ExportError
        For a missing file, an unknown format, a file the reader cannot
        parse, or a UAI file whose variables do not match ``model``.
    """
    fmt = format_of(path, format)
    path = Path(path)
    if not path.is_file():
        raise ExportError(f"Cannot read '{path}': there is no such file.")
    try:
        tables = read_network_tables(path, fmt)
    except Exception as exc:  # pgmpy's readers raise pyparsing, XML, key and value errors alike
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ExportError(f"Cannot read '{path}' as {fmt}: {reason}") from exc
    if fmt == "uai" and model is not None:
        tables = _name_uai_tables(tables, model, path)
    return tables


def _name_uai_tables(tables, model: DiagnosticModel, path: Path):
    order = uai_order(model)
    if len(tables) != len(order):
        raise ExportError(
            f"The UAI file '{path}' does not fit model {model.name}: it has {len(tables)} variables, the model {len(order)}."
        )
    for i, name in enumerate(order):
        if len(tables[f"var_{i}"][0]) != len(model.states(name)):
            raise ExportError(
                f"The UAI file '{path}' does not fit model {model.name}: its variable {i} has "
                f"{len(tables[f'var_{i}'][0])} states, but '{name}' (variable {i} of the model) has {len(model.states(name))}."
            )
    named = {}
    for key, (_, parents, table) in tables.items():
        name = order[int(key[4:])]
        named[name] = (model.states(name), tuple(order[int(p[4:])] for p in parents), table)
    return named


def to_pyagrum(model: DiagnosticModel):
    """The model as a pyAgrum ``BayesNet`` built from its tables (no file in between).

    pyAgrum stores a table with its first variable varying fastest; the tables
    are transposed to that order. Much faster than writing and reading an
    XMLBIF file for large models (model 2.0's noisy-OR tables).

    Parameters
    ----------
    model : DiagnosticModel

    Returns
    -------
    pyagrum.BayesNet

    Raises
    ------
    ImportError
        If pyAgrum is not installed (``python -m pip install pyagrum``).
    """
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # its SWIG bindings warn at import
        try:
            import pyagrum
        except ImportError:
            raise ImportError("to_pyagrum needs pyAgrum: python -m pip install pyagrum") from None
    bn = pyagrum.BayesNet(model.name)
    for name in model.variables:
        bn.add(pyagrum.LabelizedVariable(name, name, list(model.states(name))))
    for name in model.variables:
        for parent in model.parents(name):
            bn.addArc(parent, name)
    for name in model.variables:
        cpt = bn.cpt(name)
        family = [name, *model.parents(name)]
        axes = list(reversed(cpt.names))  # C order over these = pyAgrum's order (first variable fastest)
        cpt.fillWith(np.transpose(model.tables[name], [family.index(a) for a in axes]).ravel().tolist())
    return bn
