"""YAML reading that remembers where each mapping came from.

Model, evidence, targets and case files are all YAML. Errors about them must
name the file and the line, so the loader below returns dictionaries that
carry the 1-based line of the mapping and of each of its keys.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import yaml

from .errors import ModelFileError

__all__ = ["LineDict", "LineList", "read_yaml", "read_yaml_bytes", "read_bounded", "line_of", "MAX_FILE_BYTES"]

#: Largest model, evidence, targets or case file read (bytes); the bundled ones are a few hundred kB.
MAX_FILE_BYTES = 50 * 2**20


class LineDict(dict):
    """A dict that knows the line of each key (``key_lines``) and its own (``line``)."""

    line: int | None = None
    key_lines: dict[str, int]


class LineList(list):
    """A list that knows the line where it starts."""

    line: int | None = None


_Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser when available; marks are kept


class _LineLoader(_Base):
    """SafeLoader whose mappings and sequences record their source lines."""

    def construct_mapping(self, node, deep=False):  # noqa: D102 - PyYAML hook
        mapping = LineDict()
        mapping.line = node.start_mark.line + 1
        mapping.key_lines = {}
        self.flatten_mapping(node)
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                hash(key)
            except TypeError as exc:  # pragma: no cover - PyYAML raises first
                raise yaml.constructor.ConstructorError(
                    None, None, "found an unhashable key", key_node.start_mark
                ) from exc
            if key in mapping:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            mapping[key] = self.construct_object(value_node, deep=deep)
            mapping.key_lines[key] = key_node.start_mark.line + 1
        return mapping

    def construct_sequence(self, node, deep=False):  # noqa: D102 - PyYAML hook
        seq = LineList(self.construct_object(child, deep=deep) for child in node.value)
        seq.line = node.start_mark.line + 1
        return seq


_LineLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    lambda loader, node: loader.construct_mapping(node, deep=True),
)
_LineLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG,
    lambda loader, node: loader.construct_sequence(node, deep=True),
)


def read_bounded(path: str | Path, error: type[Exception] = ModelFileError) -> bytes:
    """The bytes of a regular file of at most :data:`MAX_FILE_BYTES`; ``error`` (with the file) otherwise.

    Devices, pipes and directories (``/dev/zero``, a FIFO), symlink loops, unreadable
    and oversized files are refused before anything is read into memory.
    """
    path = Path(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        _raise(error, "the file does not exist.", str(path), None)
    except OSError as exc:  # symlink loops (ELOOP), permissions, names too long
        _raise(error, f"the file cannot be read ({exc.strerror or exc}).", str(path), None)
    except ValueError as exc:  # an embedded NUL in the name
        _raise(error, f"this is not a usable file name ({exc}).", str(path), None)
    if not stat.S_ISREG(info.st_mode):
        _raise(error, "this is not a regular file (a directory, device or pipe cannot be read as YAML).", str(path), None)
    if info.st_size > MAX_FILE_BYTES:
        _raise(
            error,
            f"the file is {info.st_size / 2**20:.1f} MiB; omsbayes reads files of at most {MAX_FILE_BYTES // 2**20} MiB.",
            str(path),
            None,
        )
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)  # the file may grow between stat and read
    except OSError as exc:
        _raise(error, f"the file cannot be read ({exc.strerror or exc}).", str(path), None)
    if len(data) > MAX_FILE_BYTES:
        _raise(error, f"the file is larger than {MAX_FILE_BYTES // 2**20} MiB.", str(path), None)
    return data


def _decode(data: bytes, path: Path, error: type[Exception]) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        _raise(error, f"the file is not UTF-8 text (byte 0x{data[exc.start]:02x} cannot be decoded); save it as UTF-8.", str(path), line)


def read_yaml_bytes(path: str | Path, error: type[Exception] = ModelFileError) -> tuple[Any, bytes]:
    """Like :func:`read_yaml`, and also the bytes that were parsed (for hashing exactly what was read)."""
    path = Path(path)
    data = read_bounded(path, error)
    text = _decode(data, path, error)
    try:
        return yaml.load(text, Loader=_LineLoader), data  # noqa: S506 - SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = " ".join(str(exc.problem or exc.context or "invalid YAML").split())  # one line
        failure = (f"this is not valid YAML: {problem}.", line)
    except yaml.reader.ReaderError as exc:  # control characters: no mark, a position in the text
        line = text[: exc.position].count("\n") + 1
        failure = (f"this is not valid YAML: {exc.reason} (character #x{exc.character:04x}).", line)
    except yaml.YAMLError as exc:
        failure = (f"this is not valid YAML: {' '.join(str(exc).split())}.", None)
    except RecursionError:
        failure = ("this YAML is nested too deeply to read.", None)
    _raise(error, failure[0], str(path), failure[1])


def read_yaml(path: str | Path, error: type[Exception] = ModelFileError) -> Any:
    """Read a YAML file, keeping line numbers.

    Parameters
    ----------
    path : str or Path
        The file to read: a regular UTF-8 file of at most :data:`MAX_FILE_BYTES`.
    error : exception class
        Raised (with the file and line) when the file is missing, too large,
        not a regular file, not UTF-8 or not YAML. It is called as
        ``error(message, path, line)`` when it is :class:`ModelFileError`,
        else as ``error(text)``.

    Returns
    -------
    object
        The parsed document, with :class:`LineDict` mappings.
    """
    return read_yaml_bytes(path, error)[0]


def _raise(error: type[Exception], message: str, path: str, line: int | None):
    if issubclass(error, ModelFileError):
        raise error(message, path, line)
    where = f"{path}:{line}: " if line is not None else f"{path}: "
    raise error(where + message)


def line_of(node: Any, key: str | None = None) -> int | None:
    """Return the line of ``node[key]`` (or of ``node``), if it was recorded."""
    if key is not None and isinstance(node, LineDict):
        return node.key_lines.get(key, node.line)
    return getattr(node, "line", None)
