"""Natural frequencies: a joint distribution of two variables as counts in an imagined population.

"Of 100 million toddler-years, 1,800 bring a neuroblastoma; 69 of those also
bring OMS" is easier to reason with than "P(OMS | neuroblastoma) = 0.038".
:func:`natural_frequencies` turns the model's joint distribution of two
variables (given any evidence and age) into expected counts in a population
of a round size; :func:`omsbayes.plotting.plot_frequency_tree` draws them as
a frequency tree split either way, which shows why P(A | B) and P(B | A) can
be far apart: they divide the same joint count by different totals.

References
----------
Gigerenzer G, Hoffrage U. How to improve Bayesian reasoning without
instruction: frequency formats. Psychol Rev 1995;102(4):684-704.

Hoffrage U, Lindsey S, Hertwig R, Gigerenzer G. Communicating statistical
information. Science 2000;290(5500):2261-2.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import pandas as pd

from .errors import EvidenceError
from .evidence import NormalizedEvidence
from .provenance import Provenance, provenance_of
from .scenarios import AnalysisResult

if TYPE_CHECKING:  # pragma: no cover
    from .model import DiagnosticModel

__all__ = ["NaturalFrequencies", "natural_frequencies", "format_count"]

#: The default population makes the smallest non-zero cell at least this many people.
MIN_CELL = 10


def format_count(count: float) -> str:
    """A count for a frequency display: whole numbers with thousands separators, two digits below 10."""
    if count == 0 or count >= 9.5:
        return f"{count:,.0f}"
    return f"{count:.2g}"


@dataclass(frozen=True)
class NaturalFrequencies(AnalysisResult):
    """Expected counts of every combination of two variables' states in a population.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per (first state, second state): ``first_state``,
        ``second_state``, ``probability`` (joint, given the evidence) and
        ``count`` (probability times ``population``; expected, not rounded).
    first, second : str
        The two variables (``first`` is the one the tree splits on first by default).
    first_label, second_label : str
        Their human labels.
    population : int
        Size of the imagined population.
    who : str
        What the population is made of (``"toddler-years"``).
    evidence : NormalizedEvidence
    provenance : Provenance

    See Also
    --------
    omsbayes.plotting.plot_frequency_tree
    """

    table: pd.DataFrame
    first: str
    second: str
    first_label: str
    second_label: str
    population: int
    who: str
    evidence: NormalizedEvidence
    provenance: Provenance = field(repr=False)

    _report_columns: ClassVar[tuple[str, ...]] = ("first_state", "second_state", "probability", "count")

    @property
    def title(self) -> str:
        return f"Natural frequencies of {self.first_label} and {self.second_label} in {self.population:,} {self.who}"

    def _extra_dict(self) -> dict:
        return {"first": self.first, "second": self.second, "population": self.population, "who": self.who}

    @property
    def counts(self) -> pd.DataFrame:
        """The contingency table: rows the first variable's states, columns the second's (expected counts)."""
        wide = self.table.pivot(index="first_state", columns="second_state", values="count")
        wide = wide.loc[list(dict.fromkeys(self.table["first_state"])), list(dict.fromkeys(self.table["second_state"]))]
        wide.index.name, wide.columns.name = self.first, self.second
        return wide

    def given(self, variable: str, state: str) -> pd.Series:
        """The distribution of the other variable among those with ``variable = state``.

        ``freq.given("neuroblastoma", "present")["present"]`` is
        P(OMS present | neuroblastoma present, evidence) when the other
        variable is ``oms``: the joint count divided by the count of the
        condition, which is all Bayes' rule does.

        Raises
        ------
        EvidenceError
            If ``variable`` is not one of the two, ``state`` is not one of its
            states, or nobody in the population has it.
        """
        if variable == self.first:
            counts = self.counts.loc[self._state(variable, state, self.counts.index)]
        elif variable == self.second:
            counts = self.counts[self._state(variable, state, self.counts.columns)]
        else:
            raise EvidenceError(
                f"The variable of NaturalFrequencies.given must be {self.first!r} or {self.second!r}. "
                f"Got {variable!r} instead."
            )
        total = float(counts.sum())
        if total <= 0:
            raise EvidenceError(f"Nobody in the population has {variable} = {state}; the proportion is undefined.")
        out = counts / total
        out.name = f"given {variable} = {state}"
        return out

    @staticmethod
    def _state(variable: str, state: str, states) -> str:
        if state not in list(states):
            raise EvidenceError(f"Variable '{variable}' has no state {state!r}; its states are {list(states)}.")
        return state

    def plot(self, ax=None, split_by: str | None = None):
        """A frequency tree (see :func:`omsbayes.plotting.plot_frequency_tree`)."""
        from .plotting import plot_frequency_tree

        return plot_frequency_tree(self, ax=ax, split_by=split_by)


def _default_population(joint: np.ndarray) -> int:
    smallest = float(joint[joint > 0].min())
    return int(10 ** max(2, math.ceil(math.log10(MIN_CELL / smallest))))


def natural_frequencies(
    model: DiagnosticModel,
    first: str,
    second: str,
    evidence: Mapping | None = None,
    age: float | None = None,
    population: int | None = None,
    who: str | None = None,
) -> NaturalFrequencies:
    """Expected counts of the joint states of two variables in an imagined population.

    Parameters
    ----------
    model : DiagnosticModel
    first, second : str
        Two different variables, neither observed in ``evidence``.
    evidence : mapping, optional
        As for :meth:`~omsbayes.DiagnosticModel.diagnose`; evidence on
        ``age`` as likelihood weights restricts the population to some age
        bins (``{"age": {"infant": 1, "toddler": 1, "child": 1, "adolescent": 1}}``
        is "children under 18").
    age : float, optional
        Age in years.
    population : int, optional
        Size of the population (default: the smallest power of ten, at least
        100, that puts at least 10 people in every non-empty cell).
    who : str, optional
        What the population is made of, for titles (default
        ``"person-years"``, with the age bin when the age is known). The
        model's priors are annual incidences, so one person followed for a
        year is the natural unit.

    Returns
    -------
    NaturalFrequencies

    Raises
    ------
    EvidenceError
        For unknown or observed variables, the same variable twice, bad
        evidence or a population that is not a positive whole number.

    Examples
    --------
    >>> import omsbayes
    >>> from omsbayes.frequencies import natural_frequencies
    >>> model = omsbayes.load_model()
    >>> freq = natural_frequencies(model, "neuroblastoma", "oms", age=2)
    >>> p_oms_given_nb = freq.given("neuroblastoma", "present")["present"]
    >>> p_nb_given_oms = freq.given("oms", "present")["present"]
    >>> bool(p_nb_given_oms > 10 * p_oms_given_nb)
    True
    """
    for name in (first, second):
        model.states(name)  # unknown names raise with a did-you-mean
    if first == second:
        raise EvidenceError(f"natural_frequencies needs two different variables. Got {first!r} twice.")
    ev = model.normalize(evidence, age, what="natural_frequencies")
    for name in (first, second):
        if name in ev.observed:
            raise EvidenceError(
                f"natural_frequencies counts the states of {name!r}, so it cannot also be in the evidence."
            )
    if population is not None and (
        isinstance(population, bool) or not isinstance(population, (int, np.integer)) or population <= 0
    ):
        raise EvidenceError(
            f"The population of natural_frequencies must be a positive whole number. Got {population!r} instead."
        )
    given = dict(evidence or {})
    p_first = model.query([first], given, age=age)[first]
    rows = []
    for s1, p1 in p_first.items():
        if p1 > 0:
            p_second = model.query([second], {**given, first: s1}, age=age)[second]
        else:
            p_second = pd.Series(0.0, index=list(model.states(second)))
        for s2, p2 in p_second.items():
            rows.append({"first_state": s1, "second_state": s2, "probability": float(p1) * float(p2)})
    table = pd.DataFrame(rows)
    if population is None:
        population = _default_population(table["probability"].to_numpy())
    table["count"] = table["probability"] * population
    if who is None:
        who = f"{ev.age_bin}-years" if ev.age_bin is not None else "person-years"
    return NaturalFrequencies(
        table=table,
        first=first,
        second=second,
        first_label=model.label(first),
        second_label=model.label(second),
        population=int(population),
        who=who,
        evidence=ev,
        provenance=provenance_of(model),
    )
