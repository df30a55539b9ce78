"""Posterior-style soft evidence: "the finding is present with probability p" (Jeffrey's rule).

omsbayes takes two kinds of uncertain evidence on a two-state finding:

``0.7`` (a plain float) or :class:`~omsbayes.Likelihood`
    *Likelihood (virtual) evidence* (Pearl 1988): the report is weighed by
    the likelihoods ``(1 - p, p) = (0.3, 0.7)``, a likelihood ratio of
    ``7:3`` (2.33) for present. It moves even (50:50) odds to 0.7, but the
    finding's posterior also depends on everything else known: with a
    finding that the rest of the evidence makes likely, ``0.7`` leaves it
    above 0.7.
:class:`Marginal` (``Marginal(0.7)``; ``opsoclonus~0.7`` on the command line)
    *Probability evidence* (Jeffrey 1965; Chan and Darwiche 2005): after
    all the evidence, the finding is present with probability 0.7. The
    likelihood is chosen so that the finding's posterior marginal is exactly
    0.7 given the rest of the evidence; then every other posterior is the
    Jeffrey mixture ``0.7 P(. | e, present) + 0.3 P(. | e, absent)``.

With one ``Marginal`` finding the likelihood ratio has a closed form,
``LR = [p / (1 - p)] / [m / (1 - m)]`` where ``m`` is the finding's
probability given the rest of the evidence. With several, each one's target
depends on the others'; they are fitted in turn (iterative proportional
fitting, which converges to the unique Jeffrey update when the targets are
consistent) to a tolerance of 1e-12. ``p`` of 0 or 1 is hard evidence.

The likelihood is fitted once, against the evidence given with it, at the
model's current parameters: analyses that drop or flip other items, or draw
parameters, keep that likelihood fixed.

References
----------
Jeffrey RC. The Logic of Decision. New York: McGraw-Hill; 1965.

Pearl J. Probabilistic Reasoning in Intelligent Systems. San Mateo: Morgan
Kaufmann; 1988. Section 2.2.2 (virtual evidence).

Chan H, Darwiche A. On the revision of probabilistic beliefs using uncertain
evidence. Artif Intell 2005;163(1):67-90.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from .errors import EvidenceError
from .evidence import NormalizedEvidence

if TYPE_CHECKING:  # pragma: no cover
    from .model import DiagnosticModel

__all__ = ["Marginal", "MarginalEvidence", "split_marginals", "resolve_marginals"]

#: Largest allowed gap between a fitted marginal and its target.
TOLERANCE = 1e-12
#: Sweeps of iterative proportional fitting before giving up.
MAX_SWEEPS = 500


@dataclass(frozen=True)
class Marginal:
    """Probability evidence: after all the evidence, the finding is in its second state with probability ``p``.

    For a two-state finding (``absent``/``present``, ``negative``/``positive``).
    Unlike a plain float (a likelihood), the posterior of the finding becomes
    exactly ``p`` whatever else is known (Jeffrey's rule; see
    :mod:`omsbayes.softevidence`).

    Parameters
    ----------
    p : float
        Probability in [0, 1] that the finding is present (positive).

    Examples
    --------
    >>> import omsbayes
    >>> model = omsbayes.load_model()
    >>> ev = {"opsoclonus": omsbayes.Marginal(0.7), "ataxia": "present"}
    >>> q = model.query(["opsoclonus"], ev, age=1.5)["opsoclonus"]["present"]
    >>> round(float(q), 6)
    0.7
    """

    p: float

    def __str__(self) -> str:
        return f"P(present) = {self.p:g}"


@dataclass(frozen=True)
class MarginalEvidence(NormalizedEvidence):
    """Checked evidence in which some likelihoods were fitted to target probabilities.

    Attributes
    ----------
    targets : dict
        Variable -> the probability of its second state that was asked for
        (its likelihood, in ``soft``, makes it so).
    """

    targets: dict[str, float] = field(default_factory=dict)

    def items(self) -> list[tuple[str, str]]:
        """As :meth:`NormalizedEvidence.items`, with a fitted variable shown as asked: ``~0.7``."""
        out = []
        for name, text in super().items():
            if name in self.targets:
                lr = self.soft[name][1] / self.soft[name][0]
                text = f"P(present) {self.targets[name]:g}, fitted likelihood ratio {lr:.3g}"
            out.append((name, text))
        return out


def split_marginals(evidence, states: Mapping[str, tuple[str, ...]], what: str):
    """Take the :class:`Marginal` items out of ``evidence`` (checked); return ``(rest, {var: p})``.

    ``rest`` is ``evidence`` itself when it holds no :class:`Marginal`.
    """
    if not isinstance(evidence, Mapping) or not any(isinstance(v, Marginal) for v in evidence.values()):
        return evidence, {}
    rest, targets = {}, {}
    for var, value in evidence.items():
        if not isinstance(value, Marginal):
            rest[var] = value
            continue
        if var not in states:
            rest[var] = value  # normalize_evidence names the unknown variable
            continue
        legal = states[var]
        if len(legal) != 2:
            raise EvidenceError(
                f"A probability of being present ({var}~p) needs a two-state variable; '{var}' has states "
                f"{list(legal)}. Give likelihood weights per state instead."
            )
        p = value.p
        if isinstance(p, bool) or not isinstance(p, numbers.Real) or not (math.isfinite(p) and 0.0 <= p <= 1.0):
            raise EvidenceError(
                f"The probability that '{var}' is '{legal[1]}' (in {what}) must be a number between 0 and 1. "
                f"Got {p!r} instead."
            )
        if p in (0.0, 1.0):
            rest[var] = legal[int(p)]  # certain: hard evidence
        else:
            targets[var] = float(p)
    return rest, targets


def _others(evidence: NormalizedEvidence, var: str, soft: Mapping[str, np.ndarray]) -> NormalizedEvidence:
    return NormalizedEvidence(
        hard=evidence.hard,
        soft={k: v for k, v in soft.items() if k != var},
        age_years=evidence.age_years,
        age_bin=evidence.age_bin,
    )


def resolve_marginals(model: DiagnosticModel, evidence: NormalizedEvidence, targets: Mapping[str, float]) -> NormalizedEvidence:
    """Replace each target probability by the likelihood that makes it the finding's posterior.

    Parameters
    ----------
    model : DiagnosticModel
    evidence : NormalizedEvidence
        The rest of the evidence (hard and likelihood), already checked.
    targets : mapping
        Variable -> target probability of its second state, strictly between 0 and 1.

    Returns
    -------
    MarginalEvidence
        ``evidence`` with one likelihood vector per target (``(1, LR)`` or
        ``(1/LR, 1)``) and the targets asked for.

    Raises
    ------
    EvidenceError
        If the rest of the evidence makes a target finding certain (no
        likelihood can then move it), or if the targets are inconsistent.
    """
    from .engine import posterior_arrays

    for var in targets:
        if var in evidence.hard or var in evidence.soft:
            raise EvidenceError(f"'{var}' is given twice in the evidence.")  # pragma: no cover - a dict has one key
    soft = dict(evidence.soft)
    listed = ", ".join(f"{k}~{v:g}" for k, v in targets.items())
    for sweep in range(MAX_SWEEPS):
        worst = 0.0
        for var, q in targets.items():
            arrays, _ = posterior_arrays(model, [var], _others(evidence, var, soft))
            m = float(arrays[var][1])
            if not 0.0 < m < 1.0:
                if sweep == 0:
                    state = model.states(var)[1 if m >= 1.0 else 0]
                    raise EvidenceError(
                        f"The rest of the evidence makes '{var}' certainly '{state}', so no report can make it "
                        f"'{model.states(var)[1]}' with probability {q:g}."
                    )
                raise EvidenceError(f"The probabilities given with '~' cannot all hold together ({listed}).")
            if var in soft:  # how far the previous sweep's likelihood is from the target, now
                worst = max(worst, abs(_posterior(arrays[var], soft[var]) - q))
            lr = (q / (1.0 - q)) / (m / (1.0 - m))
            soft[var] = np.array([1.0, lr]) if lr <= 1.0 else np.array([1.0 / lr, 1.0])
        if len(targets) == 1 or (sweep > 0 and worst < TOLERANCE):
            break  # one target: the closed form is exact
    else:
        raise EvidenceError(
            f"The probabilities given with '~' cannot all hold together ({listed}); fitting them did not converge."
        )
    return MarginalEvidence(
        hard=evidence.hard, soft=soft, age_years=evidence.age_years, age_bin=evidence.age_bin, targets=dict(targets)
    )


def _posterior(prior: np.ndarray, likelihood: np.ndarray) -> float:
    post = prior * likelihood
    return float(post[1] / post.sum())
