"""Where a result came from: model name, version and content hash, software versions.

Every result object carries a :class:`Provenance`, so that a figure in a paper
can be traced to the exact model and code that produced it.
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass
from importlib import metadata
from typing import TYPE_CHECKING

from ._version import __version__

if TYPE_CHECKING:  # pragma: no cover
    from .model import DiagnosticModel

__all__ = ["Provenance", "provenance_of"]


@functools.cache  # read once: package metadata takes about a millisecond to read
def _installed_version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:  # pragma: no cover - pgmpy is a dependency
        return "not installed"


@dataclass(frozen=True)
class Provenance:
    """Identity of the model and software behind a result.

    Attributes
    ----------
    model_name, model_version : str
        From the model file.
    model_hash : str
        SHA-256 (first 16 hex digits) of the model files and any parameter
        overrides.
    parameters_changed : tuple of str
        Parameters set with ``with_parameters`` (empty for the file's model).
    omsbayes_version, pgmpy_version : str
        Software versions.
    """

    model_name: str
    model_version: str
    model_hash: str
    parameters_changed: tuple[str, ...]
    omsbayes_version: str
    pgmpy_version: str

    def to_dict(self) -> dict:
        """A plain dict (for JSON)."""
        out = asdict(self)
        out["parameters_changed"] = list(self.parameters_changed)
        return out

    def __str__(self) -> str:
        changed = f", {len(self.parameters_changed)} parameter(s) changed" if self.parameters_changed else ""
        return (
            f"model {self.model_name} {self.model_version} (hash {self.model_hash}{changed}); "
            f"omsbayes {self.omsbayes_version}, pgmpy {self.pgmpy_version}"
        )


def provenance_of(model: DiagnosticModel) -> Provenance:
    """The provenance record of results computed with ``model``."""
    return Provenance(
        model_name=model.name,
        model_version=model.version,
        model_hash=model.content_hash,
        parameters_changed=tuple(sorted(model.overrides)),
        omsbayes_version=__version__,
        pgmpy_version=_installed_version("pgmpy"),
    )
