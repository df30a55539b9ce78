"""Exceptions and warnings raised by omsbayes.

Every error is rooted at :class:`OmsBayesError` and also subclasses the
built-in exception it means, so callers may catch either.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = [
    "OmsBayesError",
    "EvidenceError",
    "ModelFileError",
    "CaseFileError",
    "OutputError",
    "OmsBayesWarning",
    "did_you_mean",
]


class OmsBayesError(Exception):
    """Base class of every error raised by omsbayes."""


class EvidenceError(OmsBayesError, ValueError):
    """Evidence, an age or a query that the model cannot accept."""


class ModelFileError(OmsBayesError, ValueError):
    """A model, evidence or targets file that cannot be read or is inconsistent.

    Parameters
    ----------
    message : str
        What is wrong, in one sentence.
    path : str, optional
        The file, when the problem is in a file.
    line : int, optional
        The 1-based line in that file, when known.
    """

    def __init__(self, message: str, path: str | None = None, line: int | None = None):
        self.path = path
        self.line = line
        self.reason = message
        where = ""
        if path is not None:
            where = f"{path}:{line}: " if line is not None else f"{path}: "
        super().__init__(where + message)


class CaseFileError(OmsBayesError, ValueError):
    """A case file (vignettes) that cannot be read or does not fit the model."""


class OutputError(OmsBayesError, OSError):
    """A result, table or figure that cannot be written (missing directory, no permission, bad suffix)."""


class OmsBayesWarning(UserWarning):
    """Legal but questionable input (for example an age given as a bin edge)."""


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """Return a " Did you mean 'x'?" suffix for a misspelt name, or "".

    Parameters
    ----------
    name : str
        The name that was not recognised.
    choices : iterable of str
        The legal names.

    Returns
    -------
    str
        A sentence fragment starting with a space, or the empty string.
    """
    close = difflib.get_close_matches(str(name), list(choices), n=1, cutoff=0.6)
    return f" Did you mean '{close[0]}'?" if close else ""
