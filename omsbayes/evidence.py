"""Turn user evidence (names, states, ages, soft findings) into engine input.

Evidence is a mapping from a variable name to one of

* a state name (``"present"``): hard evidence;
* a float ``p`` in [0, 1], for a two-state variable: an *uncertain
  observation*. It is Pearl's virtual evidence with likelihoods ``(1 - p, p)``
  for (first state, second state): the report is ``p / (1 - p)`` times as
  likely if the finding is present as if it is absent, so it would move even
  (50:50) odds to ``p``. It does not force the posterior of the finding to
  ``p``; the posterior also depends on everything else known;
* :class:`Likelihood` (``Likelihood.ratio(5)``, ``Likelihood.of({...})``) or a
  plain mapping ``{state: weight}``: likelihoods of the observation given each
  state (only their ratios matter).

``age`` is given in years and mapped to the model's age bins; no age means
the age is unknown (the population's age distribution is used).

Missing values
--------------
One rule, used by every entry point (:func:`is_missing`): ``None``, a NaN of
any float type (``float``, ``numpy.float32``, ...), ``pandas.NA``,
``pandas.NaT`` and a blank string mean *not observed*, for evidence values and
for the age alike. Text such as ``"nan"`` or ``"NA"`` is not a missing value
but a (wrong) state name, and is refused with a hint; booleans are never an
age or a state.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from .errors import EvidenceError, did_you_mean

__all__ = [
    "Likelihood",
    "NormalizedEvidence",
    "normalize_evidence",
    "age_to_bin",
    "is_missing",
    "check_integer",
    "check_names",
    "MAX_AGE_YEARS",
]

MAX_AGE_YEARS = 120.0

#: Texts that people write for "missing"; they are refused with a hint rather than read as a state.
_MISSING_WORDS = frozenset({"nan", "na", "n/a", "none", "null", "missing", "unknown", "?"})


def is_missing(value) -> bool:
    """True for a value that means *not observed*: None, NaN (any float type), pandas.NA/NaT or blank text.

    Parameters
    ----------
    value : object
        An evidence value, a cohort cell or an age.

    Returns
    -------
    bool
    """
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, (float, np.floating)):
        return math.isnan(value)
    kind = type(value)
    return kind.__module__.startswith("pandas") and kind.__name__ in ("NAType", "NaTType")


def _missing_hint(value) -> str:
    if isinstance(value, str) and value.strip().lower() in _MISSING_WORDS:
        return " To leave a variable unobserved, leave it out (or give None, or an empty cell in a cohort)."
    return ""


def check_integer(value, name: str, what: str, minimum: int = 0, maximum: int | None = None) -> int:
    """An integer argument, or :class:`EvidenceError` naming the parameter, the function and the range.

    Parameters
    ----------
    value : object
        The argument as given (bools are refused; numpy integers accepted).
    name, what : str
        The parameter and the function, for the message.
    minimum, maximum : int
        The allowed range (``maximum`` None: no upper bound).
    """
    ok = isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))
    if ok and value >= minimum and (maximum is None or value <= maximum):
        return int(value)
    allowed = f"an integer >= {minimum}" if maximum is None else f"an integer between {minimum} and {maximum:,}"
    raise EvidenceError(f"The '{name}' parameter of {what} must be {allowed}. Got {value!r} instead.")


def check_names(value, name: str, what: str, allow_none: bool = True) -> list[str] | None:
    """A list of names (a single string is a list of one), or :class:`EvidenceError`."""
    if value is None and allow_none:
        return None
    if isinstance(value, str):
        return [value]
    try:
        names = list(value)
    except TypeError:
        names = None
    if names is None or not all(isinstance(v, str) for v in names):
        raise EvidenceError(
            f"The '{name}' parameter of {what} must be a list of variable names. Got {value!r} instead."
        )
    return names


@dataclass(frozen=True)
class Likelihood:
    """Soft evidence: the likelihood of an observation under each state.

    Use :meth:`ratio` for a two-state finding reported with a likelihood ratio,
    or :meth:`of` for explicit weights. Only the ratios between weights matter.
    """

    weights: tuple[tuple[str, float], ...] | None = None
    lr: float | None = None

    @classmethod
    def ratio(cls, lr: float) -> Likelihood:
        """A report ``lr`` times as likely if the finding is present (positive) as if not."""
        try:
            return cls(lr=_weight(lr))
        except TypeError:
            raise EvidenceError(f"A likelihood ratio must be a number >= 0. Got {lr!r} instead.") from None

    @classmethod
    def of(cls, weights: Mapping[str, float]) -> Likelihood:
        """Explicit likelihood weights per state (states left out get 0)."""
        if not isinstance(weights, Mapping):
            raise EvidenceError(f"Likelihood.of needs a mapping of states to weights. Got {weights!r} instead.")
        try:
            return cls(weights=tuple((str(k), _weight(v)) for k, v in weights.items()))
        except TypeError:
            raise EvidenceError(f"The likelihood weights must be numbers >= 0. Got {dict(weights)!r} instead.") from None

    def __str__(self) -> str:
        if self.lr is not None:
            return f"LR {self.lr:g}"
        return "{" + ", ".join(f"{k}: {v:g}" for k, v in self.weights or ()) + "}"


@dataclass(frozen=True)
class NormalizedEvidence:
    """Evidence checked against a model.

    Attributes
    ----------
    hard : dict
        Variable -> observed state, for hard evidence (age included when known).
    soft : dict
        Variable -> likelihood vector (numpy array over the variable's states).
    age_years : float or None
        The age as given, in years.
    age_bin : str or None
        The age bin it falls in.
    """

    hard: dict[str, str]
    soft: dict[str, np.ndarray]
    age_years: float | None
    age_bin: str | None
    setting: str | None = None

    def likelihoods(self, model_states: Mapping[str, tuple[str, ...]]) -> dict[str, np.ndarray]:
        """Every observed variable as a likelihood vector (hard = one-hot)."""
        out = {}
        for var, state in self.hard.items():
            vec = np.zeros(len(model_states[var]))
            vec[model_states[var].index(state)] = 1.0
            out[var] = vec
        out.update(self.soft)
        return out

    def items(self) -> list[tuple[str, str]]:
        """(variable, description) pairs, in a stable order, for messages and tables."""
        out = [(k, v) for k, v in self.hard.items()]
        out += [(k, "soft " + np.array2string(v, precision=3)) for k, v in self.soft.items()]
        return out

    @property
    def observed(self) -> tuple[str, ...]:
        """Names of all observed variables."""
        return tuple(self.hard) + tuple(self.soft)


def age_to_bin(age: float, age_states, bins_years, what: str = "diagnose") -> str:
    """Map an age in years to its bin; raise :class:`EvidenceError` if it is not a valid age.

    Parameters
    ----------
    age : float
        Age in years, a finite number in [0, 120].
    age_states : sequence of str
        The bin names.
    bins_years : sequence of float
        Lower bound of each bin.
    what : str
        The function being called, for the message.
    """
    if isinstance(age, (bool, np.bool_)) or not isinstance(age, numbers.Real) or not math.isfinite(float(age)):
        raise EvidenceError(
            f"The 'age' parameter of {what} must be a number of years between 0 and {MAX_AGE_YEARS:g}. "
            f"Got {age!r} instead."
        )
    age = float(age)
    if not 0.0 <= age <= MAX_AGE_YEARS:
        raise EvidenceError(
            f"The 'age' parameter of {what} must be a number of years between 0 and {MAX_AGE_YEARS:g}. "
            f"Got {age:g} instead."
        )
    index = int(np.searchsorted(np.asarray(bins_years), age, side="right")) - 1
    return age_states[index]


def _weight(value) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError("not a number")
    return float(value)


def _likelihood_vector(var: str, value, states: tuple[str, ...]) -> np.ndarray:
    if isinstance(value, Likelihood) and value.lr is not None:
        if len(states) != 2:
            raise EvidenceError(
                f"A likelihood ratio needs a two-state variable, but '{var}' has states {list(states)}."
            )
        if not math.isfinite(value.lr) or value.lr < 0:
            raise EvidenceError(f"The likelihood ratio for '{var}' must be a finite number >= 0. Got {value.lr:g}.")
        return np.array([1.0, value.lr])
    weights = dict(value.weights) if isinstance(value, Likelihood) else dict(value)
    unknown = [k for k in weights if k not in states]
    if unknown:
        raise EvidenceError(
            f"Variable '{var}' has no state {unknown[0]!r}; its states are {list(states)}."
            + did_you_mean(str(unknown[0]), states)
        )
    try:
        vec = np.array([_weight(weights.get(s, 0.0)) for s in states])
    except (TypeError, ValueError):
        vec = np.array([np.nan])
    if not np.all(np.isfinite(vec)) or np.any(vec < 0):
        raise EvidenceError(f"The likelihood weights for '{var}' must be finite and >= 0. Got {weights}.")
    if not np.any(vec > 0):
        raise EvidenceError(f"The likelihood weights for '{var}' are all zero; at least one state must be possible.")
    return vec


def normalize_evidence(
    evidence: Mapping | None,
    age: float | None,
    states: Mapping[str, tuple[str, ...]],
    age_states: tuple[str, ...],
    bins_years: tuple[float, ...],
    what: str = "diagnose",
) -> NormalizedEvidence:
    """Check evidence against the model's variables and states.

    Parameters
    ----------
    evidence : mapping or None
        Variable -> state, probability (two-state variables) or likelihood.
    age : float or None
        Age in years.
    states : mapping
        Every model variable -> its states.
    age_states, bins_years : sequence
        Age bins and their lower bounds.
    what : str
        Name of the calling function, for messages.

    Returns
    -------
    NormalizedEvidence

    Raises
    ------
    EvidenceError
        Unknown variable (with a did-you-mean), illegal state (listing the
        legal ones), probability outside [0, 1], or an invalid age.
    """
    if evidence is None:
        evidence = {}
    if not isinstance(evidence, Mapping):
        raise EvidenceError(
            f"The evidence of {what} must be a mapping of variable names to states, e.g. "
            f"{{'opsoclonus': 'present'}}. Got {type(evidence).__name__} instead."
        )
    hard: dict[str, str] = {}
    soft: dict[str, np.ndarray] = {}
    for var, value in evidence.items():
        if not isinstance(var, str) or var not in states:
            raise EvidenceError(f"Unknown variable {var!r} in the evidence." + did_you_mean(str(var), states))
        legal = states[var]
        if is_missing(value):
            continue  # unobserved
        if isinstance(value, str):
            if value not in legal:
                raise EvidenceError(
                    f"Variable '{var}' has no state '{value}'; its states are {list(legal)}."
                    + (_missing_hint(value) or did_you_mean(value, legal))
                )
            hard[var] = value
        elif isinstance(value, (bool, np.bool_)):
            raise EvidenceError(
                f"Give '{var}' a state name such as '{legal[-1]}' or '{legal[0]}', not {value!r}."
            )
        elif isinstance(value, numbers.Real):
            p = float(value)
            if len(legal) != 2:
                raise EvidenceError(
                    f"A probability for '{var}' needs a two-state variable; '{var}' has states {list(legal)}. "
                    "Give likelihood weights per state instead."
                )
            if not (math.isfinite(p) and 0.0 <= p <= 1.0):
                raise EvidenceError(
                    f"The probability given for '{var}' must be between 0 and 1 (how sure the observer is that it "
                    f"is '{legal[1]}'). Got {value!r} instead."
                )
            soft[var] = np.array([1.0 - p, p])
        elif isinstance(value, (Likelihood, Mapping)):
            soft[var] = _likelihood_vector(var, value, legal)
        else:
            raise EvidenceError(
                f"The evidence for '{var}' must be a state name, a probability or likelihood weights; "
                f"got {value!r}."
            )
    age_bin = None
    if is_missing(age):
        age = None
    if age is not None:
        if "age" in hard or "age" in soft:
            raise EvidenceError("Give the age either as 'age' in years or as evidence on 'age', not both.")
        age_bin = age_to_bin(age, age_states, bins_years, what)
        hard = {"age": age_bin, **hard}
        age = float(age)
    elif "age" in hard:
        age_bin = hard["age"]
    return NormalizedEvidence(hard=hard, soft=soft, age_years=age, age_bin=age_bin)
