"""Cohort files: read a CSV of cases strictly, write results atomically.

The cohort format (see ``omsbayes diagnose --csv``): a header row of column
names, then one row per case. Columns are variables of the model holding a
state name or a probability in [0, 1]; an empty cell means not observed (the
one missing-value rule of :mod:`omsbayes.evidence`; text such as ``NA`` or
``nan`` is refused with a hint rather than guessed at). An optional ``age``
column holds years (or an age bin), an optional ``id`` column names each case
(ids must be unique).

Reading is strict where a silent mistake would change an answer: every row
must have as many fields as the header (a trailing comma would otherwise shift
the fields into the index), a column name that is close to a variable of the
model is taken as a misspelling and refused, and a repeated id is refused.
Other columns (``sex``, ``hospital``) are not part of the model: they are
ignored with an :class:`~omsbayes.errors.OmsBayesWarning`, or refused with
``unknown_columns="error"``.

Results are written atomically (:func:`write_atomic`): to a temporary file in
the target's directory, then renamed over the target, so a reader never sees
half a file and an interrupted run leaves the old file (or none) in place.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import tempfile
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import CaseFileError, OmsBayesWarning, OutputError, did_you_mean
from .evidence import _MISSING_WORDS
from .yamlio import _decode, read_bounded

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from .model import DiagnosticModel

__all__ = ["read_cohort", "write_atomic", "atomic_path"]

#: Columns a cohort may hold besides the model's variables.
ID_COLUMN = "id"


def read_cohort(path: str | Path, model: DiagnosticModel, unknown_columns: str = "warn") -> pd.DataFrame:
    """Read a cohort CSV file, checked against the model.

    Parameters
    ----------
    path : str or Path
        The CSV file (UTF-8, at most :data:`omsbayes.yamlio.MAX_FILE_BYTES`).
    model : DiagnosticModel
        The model whose variables the columns name.
    unknown_columns : {"warn", "error"}
        What to do with a column that is neither a variable of the model nor
        ``id``: ignore it with a warning (default) or refuse the file. A
        column whose name is close to a variable's is always refused (a
        misspelling would silently drop a finding).

    Returns
    -------
    pandas.DataFrame
        One row per case, indexed by ``id`` when the file has that column;
        cells as text (``None`` for empty cells), ready for
        :meth:`DiagnosticModel.diagnose_batch`.

    Raises
    ------
    CaseFileError
        With the file and line: unreadable file, rows whose field count
        differs from the header, repeated or empty column names, misspelt or
        (with ``unknown_columns="error"``) unknown columns, missing or
        repeated ids, and text that stands for a missing value.
    """
    import pandas as pd

    if unknown_columns not in ("warn", "error"):
        raise CaseFileError(f"unknown_columns must be 'warn' or 'error'. Got {unknown_columns!r} instead.")
    path = Path(path)
    text = _decode(read_bounded(path, CaseFileError), path, CaseFileError)
    if text.startswith("\ufeff"):  # a byte-order mark written by spreadsheet programs
        text = text[1:]
    rows = _rows(path, text)
    if not rows:
        raise CaseFileError(f"{path}: the cohort file is empty; it needs a header row naming the columns.")
    (header_line, header), body = rows[0], rows[1:]
    header = [name.strip() for name in header]
    _check_header(path, header_line, header)
    variables = model.state_map
    keep = []
    ignored = []
    for name in header:
        if name == ID_COLUMN or name in variables:
            keep.append(name)
            continue
        close = did_you_mean(name, variables)
        if close or unknown_columns == "error":
            raise CaseFileError(
                f"{path}:{header_line}: unknown column {name!r}: columns must be variables of the model, 'age' "
                f"or 'id'." + (close or " Remove the column, or read the file with unknown columns ignored.")
            )
        ignored.append(name)
    if ignored:
        warnings.warn(
            f"{path}: ignored column(s) {', '.join(repr(c) for c in ignored)}: not variables of the model.",
            OmsBayesWarning,
            stacklevel=2,
        )
    columns = {name: [] for name in keep}
    lines = []
    for line, fields in body:
        lines.append(line)
        for name, value in zip(header, fields):
            if name not in columns:
                continue
            value = value.strip()
            if value.lower() in _MISSING_WORDS and value:
                raise CaseFileError(
                    f"{path}:{line}: column {name!r} holds {value!r}; leave the cell empty for 'not observed' "
                    "(text is read as a state name)."
                )
            columns[name].append(value if value else None)
    frame = pd.DataFrame(columns, dtype=object)
    if ID_COLUMN in columns:
        _check_ids(path, columns[ID_COLUMN], lines)
        frame = frame.set_index(ID_COLUMN)
    return frame


def _rows(path: Path, text: str) -> list[tuple[int, list[str]]]:
    """(line, fields) of every non-blank row; rows whose field count differs from the header are refused."""
    reader = csv.reader(io.StringIO(text, newline=""))
    rows = []
    start = 1
    try:
        for fields in reader:
            line, start = start, reader.line_num + 1
            if not fields or all(not f.strip() for f in fields) and len(fields) <= 1:
                continue  # a blank line
            if rows and len(fields) != len(rows[0][1]):
                raise CaseFileError(
                    f"{path}:{line}: this row has {len(fields)} fields but the header has {len(rows[0][1])}; "
                    "every row needs one field per column (check for a stray or missing comma)."
                )
            rows.append((line, fields))
    except csv.Error as exc:
        raise CaseFileError(f"{path}:{reader.line_num}: this is not valid CSV ({exc}).") from None
    return rows


def _check_header(path: Path, line: int, header: list[str]) -> None:
    seen = set()
    for position, name in enumerate(header, start=1):
        if not name:
            raise CaseFileError(f"{path}:{line}: column {position} of the header has no name.")
        if name in seen:
            raise CaseFileError(f"{path}:{line}: the column {name!r} appears twice; give each variable one column.")
        seen.add(name)


def _check_ids(path: Path, ids: list[Any], lines: list[int]) -> None:
    first: dict[Any, int] = {}
    for value, line in zip(ids, lines):
        if value is None:
            raise CaseFileError(f"{path}:{line}: the case has no id; give every row an id, or drop the 'id' column.")
        if value in first:
            raise CaseFileError(f"{path}:{line}: the id {value!r} is used again (first on line {first[value]}); ids must be unique.")
        first[value] = line


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path beside ``path``; renamed over ``path`` when the block succeeds, removed otherwise.

    The temporary file keeps the target's suffix (plotting libraries choose the
    format from it).

    Raises
    ------
    OutputError
        When the directory does not exist or cannot be written.
    """
    target = Path(path)
    directory = target.parent
    try:
        handle, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=f".tmp{target.suffix}", dir=directory)
    except OSError as exc:
        raise OutputError(f"Cannot write {target}: {exc.strerror or exc} (in directory {str(directory) or '.'!r}).") from None
    os.close(handle)
    temp = Path(name)
    try:
        yield temp
        try:
            os.replace(temp, target)
        except OSError as exc:
            raise OutputError(f"Cannot write {target}: {exc.strerror or exc}.") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()


def write_atomic(path: str | Path, write: Callable[[Path], Any]) -> Path:
    """Call ``write(temporary_path)``, then rename the temporary file over ``path``.

    Parameters
    ----------
    path : str or Path
        The file to create or replace.
    write : callable
        Writes the whole content to the path it is given.

    Returns
    -------
    Path
        ``path``.
    """
    with atomic_path(path) as temp:
        write(temp)
    return Path(path)
