"""Uncertainty distributions of model parameters.

A parameter's uncertainty is one of

* ``beta`` with ``n``: the figure was x/n; Beta with mean at the model value and
  ``n + 2`` pseudo-observations (for x = 0 or x = n this is Beta(x+1, n-x+1),
  the shrinkage GAPS.md asks for);
* ``beta`` with ``low``/``high``: a 95% interval (a CI or an expert range);
  the Beta with mean at the model value whose 2.5% and 97.5% quantiles come
  closest to it;
* ``lognormal`` with ``low``/``high``: for rates; median at the model value,
  log-scale spread such that the 95% interval covers the stated range;
* ``dirichlet`` with ``concentration``: for a distribution over several states.

All draws take a :class:`numpy.random.Generator`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

__all__ = ["Uncertainty", "fit_beta_concentration"]

_Z975 = 1.959963984540054  # standard normal 97.5% quantile


@lru_cache(maxsize=None)
def fit_beta_concentration(mean: float, low: float, high: float) -> float:
    """Concentration of the Beta with this mean closest to a 95% interval.

    Parameters
    ----------
    mean : float
        Mean of the Beta, in (0, 1).
    low, high : float
        Target 2.5% and 97.5% quantiles.

    Returns
    -------
    float
        ``alpha + beta`` of the best Beta (at least 2).

    Notes
    -----
    Least squares on the two quantiles over log-concentration; the interval
    need not be symmetric around the mean. Cached: a model file's ranges are
    fitted once per process.
    """
    from scipy import optimize, special

    def loss(log_kappa: float) -> float:
        kappa = math.exp(log_kappa)
        a, b = mean * kappa, (1.0 - mean) * kappa
        q_low, q_high = special.betaincinv(a, b, [0.025, 0.975])
        return (q_low - low) ** 2 + (q_high - high) ** 2

    result = optimize.minimize_scalar(loss, bounds=(math.log(2.0), math.log(1e7)), method="bounded")
    return float(math.exp(result.x))


@dataclass(frozen=True)
class Uncertainty:
    """The uncertainty of one parameter (or of one categorical group).

    Attributes
    ----------
    kind : str
        ``"beta"``, ``"lognormal"``, ``"dirichlet"`` or ``"derived"``.
    spec : dict
        The numbers as written in the model file (``n``, ``low``, ``high``,
        ``concentration``).
    center : float or tuple of float
        The model value (for ``dirichlet``, the vector of state probabilities).
    """

    kind: str
    spec: dict
    center: float | tuple[float, ...]
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def build(cls, kind: str, spec: dict, center) -> Uncertainty:
        """Create the distribution from its file spec and the model value (shapes are fitted on first use)."""
        if kind not in ("beta", "lognormal", "dirichlet", "derived"):
            raise ValueError(f"unknown uncertainty kind {kind!r}")
        return cls(kind, dict(spec), center)

    @property
    def _shape(self) -> tuple[float, float]:
        if "shape" not in self._cache:
            self._cache["shape"] = self._fit()
        return self._cache["shape"]

    def _fit(self) -> tuple[float, float]:
        spec = self.spec
        if self.kind == "beta":
            mean = float(self.center)
            if "n" in spec:
                kappa = float(spec["n"]) + 2.0
            else:
                kappa = fit_beta_concentration(mean, float(spec["low"]), float(spec["high"]))
            return (mean * kappa, (1.0 - mean) * kappa)
        if self.kind == "lognormal":
            low, high = float(spec["low"]), float(spec["high"])
            mu = math.log(float(self.center))
            # wide enough that the 95% interval covers the stated range on both sides
            return (mu, max(math.log(high) - mu, mu - math.log(low)) / _Z975)
        if self.kind == "dirichlet":
            return (float(spec["concentration"]), 0.0)
        return (0.0, 0.0)

    # -- description -------------------------------------------------------
    @property
    def distribution(self) -> str:
        """A short formula of the distribution, e.g. ``Beta(43.0, 2.1)``."""
        a, b = self._shape
        if self.kind == "beta":
            return f"Beta({a:.4g}, {b:.4g})"
        if self.kind == "lognormal":
            return f"LogNormal(mu={a:.4g}, sigma={b:.4g})"
        if self.kind == "dirichlet":
            return f"Dirichlet(concentration={a:.4g})"
        return "derived"

    # -- quantiles and draws ------------------------------------------------
    def interval(self, level: float = 0.95, component: int | None = None) -> tuple[float, float]:
        """Central interval of the parameter (or of one Dirichlet component)."""
        from scipy import special

        tail = (1.0 - level) / 2.0
        a, b = self._shape
        if self.kind == "beta":
            low, high = special.betaincinv(a, b, [tail, 1.0 - tail])
        elif self.kind == "lognormal":
            z = special.ndtri(1.0 - tail)
            low, high = math.exp(a - z * b), math.exp(a + z * b)
        elif self.kind == "dirichlet":
            p = float(self.center[component])  # type: ignore[index]
            low, high = special.betaincinv(a * p, a * (1.0 - p), [tail, 1.0 - tail])
        else:
            raise ValueError("a derived parameter's interval comes from its inputs")
        return float(low), float(high)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """Draw ``size`` values (shape ``(size,)``, or ``(size, k)`` for Dirichlet)."""
        a, b = self._shape
        if self.kind == "beta":
            return rng.beta(a, b, size=size)
        if self.kind == "lognormal":
            return np.exp(rng.normal(a, b, size=size))
        if self.kind == "dirichlet":
            alpha = a * np.asarray(self.center, dtype=float)
            return rng.dirichlet(alpha, size=size)
        raise ValueError("a derived parameter is drawn through its inputs")
