"""Probabilistic (second-order) sensitivity analysis: how uncertain is the posterior?

Every parameter is drawn from its uncertainty distribution (Beta, LogNormal,
Dirichlet for a categorical parameter; derived parameters recomputed from the
drawn inputs; see :func:`omsbayes.uncertainty_draws.draw_parameters`), the
tables are built for all draws at once (a leading batch axis), and the query
is answered for every draw in one batched run of the compiled engine (in
chunks, with a progress bar). The spread of the posteriors over the draws is
the second-order uncertainty of the diagnosis: a Monte Carlo estimate of the
distribution of P(condition | evidence) induced by the uncertainty of the
published numbers (probabilistic sensitivity analysis; Kleiter 1996). The
one-way analysis of :mod:`omsbayes.sensitivity` (Coupé and van der Gaag
2002) says which numbers matter; this one says how much all of them together
blur the answer.

For each condition the result gives the point estimate (the model's own
values), the mean, median, and the central 90% and 95% intervals over the
draws, and the probability that the condition ranks first; for the case, the
probability that the top diagnosis differs from the point estimate's.

The draws, and therefore the whole result, are reproducible bit for bit from
the seed: the same integer ``rng`` gives identical tables. A numpy Generator
continues from its current position (and is advanced): two calls on one
Generator draw differently, a fresh Generator with the same seed repeats the
first call. The draws are taken in chunks (memory bounded by
:data:`CHUNK_BYTES` plus the result); at most :data:`MAX_DRAWS` draws.

References
----------
Coupé VMH, van der Gaag LC. Properties of sensitivity analysis of Bayesian
belief networks. Ann Math Artif Intell 2002;36:323-356.

Kleiter GD. Propagating imprecise probabilities in Bayesian networks.
Artif Intell 1996;88(1-2):143-161.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import pandas as pd

from . import tables as _tables
from .engine.compiled import SlicedTables
from .errors import EvidenceError
from .evidence import NormalizedEvidence, check_integer
from .provenance import Provenance, provenance_of
from .scenarios import AnalysisResult, check_possible, condition_posteriors
from .uncertainty_draws import ParameterStreams, check_rng

if TYPE_CHECKING:  # pragma: no cover
    from .model import DiagnosticModel

__all__ = ["Uncertainty", "uncertainty", "CHUNK_BYTES", "MAX_DRAWS"]

#: Largest size (bytes) of the tables built for one chunk of draws.
CHUNK_BYTES = 32 * 2**20

#: Most parameter draws one analysis takes: the result keeps every draw's posteriors
#: (draws x conditions doubles, 8 bytes each), so more would not fit in memory.
MAX_DRAWS = 1_000_000


@dataclass(frozen=True)
class Uncertainty(AnalysisResult):
    """The distribution of every condition's posterior over parameter draws.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per condition, ranked by the point estimate: ``condition``,
        ``label``, ``point`` (posterior at the model's values), ``mean``,
        ``sd``, ``median``, ``low90``, ``high90``, ``low95``, ``high95``
        (central intervals over the draws), ``p_top`` (share of draws in which
        the condition ranks first) and ``point_rank``.
    samples : pandas.DataFrame
        Draw x condition posteriors (``draws`` rows).
    p_top_differs : float
        Share of draws whose top diagnosis differs from the point estimate's.
    top : str
        The point estimate's top diagnosis.
    draws : int
    seed : int or None
        The integer seed, when one was given (else None: a Generator or fresh
        entropy was used).
    evidence : NormalizedEvidence
    provenance : Provenance

    See Also
    --------
    omsbayes.plotting.plot_uncertainty
    """

    table: pd.DataFrame
    samples: pd.DataFrame
    p_top_differs: float
    top: str
    draws: int
    seed: int | None
    evidence: NormalizedEvidence
    provenance: Provenance = field(repr=False)

    @property
    def title(self) -> str:
        return (
            f"Posterior uncertainty over {self.draws} parameter draws: the top diagnosis differs from "
            f"the point estimate's in {100 * self.p_top_differs:.1f}% of draws"
        )

    _report_columns: ClassVar[tuple[str, ...]] = (
        "label", "point", "mean", "median", "low90", "high90", "low95", "high95", "p_top",
    )

    def _extra_dict(self) -> dict:
        return {"draws": self.draws, "seed": self.seed, "top": self.top, "p_top_differs": self.p_top_differs}

    def plot(self, ax=None, top: int | None = None, xscale: str = "linear"):
        """Interval plot of the posteriors (see :func:`omsbayes.plotting.plot_uncertainty`)."""
        from .plotting import plot_uncertainty

        return plot_uncertainty(self, ax=ax, top=top, xscale=xscale)


def _chunk_size(model: DiagnosticModel, variables: list[str], draws: int, restrict: Mapping[str, int]) -> int:
    """Draws per chunk: the sliced tables of one chunk stay within CHUNK_BYTES."""
    per_draw = 0
    for v in variables:
        axes = (v, *model.parents(v))
        per_draw += 8 * math.prod(1 if a in restrict else len(model.states(a)) for a in axes)
    return int(max(1, min(draws, CHUNK_BYTES // max(per_draw, 1))))


def uncertainty(
    model: DiagnosticModel,
    evidence: Mapping | None = None,
    age: float | None = None,
    draws: int = 2000,
    rng: int | np.random.Generator | None = None,
    progress: bool | None = None,
) -> Uncertainty:
    """Second-order uncertainty of every condition's posterior (see :meth:`DiagnosticModel.uncertainty`)."""
    if isinstance(draws, numbers.Integral) and not isinstance(draws, bool) and draws > MAX_DRAWS:
        raise EvidenceError(
            f"The 'draws' parameter of uncertainty must be at most {MAX_DRAWS:,}: the result keeps every draw's "
            f"posteriors, and {int(draws):,} draws x {len(model.conditions)} conditions would take "
            f"{int(draws) * len(model.conditions) * 8 / 2**30:.1f} GiB. Got {draws!r} instead."
        )
    draws = check_integer(draws, "draws", "uncertainty", minimum=2)
    check_rng(rng, "uncertainty")
    if progress is not None and not isinstance(progress, (bool, np.bool_)):
        raise EvidenceError(f"The 'progress' parameter of uncertainty must be True, False or None. Got {progress!r} instead.")
    seed = int(rng) if isinstance(rng, numbers.Integral) and not isinstance(rng, bool) else None
    ev = model.normalize(evidence, age, what="uncertainty")
    likelihoods = ev.likelihoods(model.state_map)
    conditions = model.conditions
    point, log_z = condition_posteriors(model, likelihoods)
    check_possible(model, ev, float(log_z[0]))
    point = point[0]

    relevant = model.engine.network.ancestors(set(likelihoods) | set(conditions))
    needed = [v for v in model.variables if v in relevant]
    # draw only the parameters of the tables this query needs (each draws from its own stream),
    # one chunk at a time: memory stays bounded by the chunk, whatever the number of draws
    streams = ParameterStreams(
        model, rng, parameters=[p for p in model.parameter_names if model.table_of(p) in relevant]
    )
    # Hard evidence: build only the observed slice of each table (most of the work with thousands of draws).
    restrict = {
        v: int(np.flatnonzero(lam)[0])
        for v, lam in likelihoods.items()
        if np.ndim(lam) == 1 and np.count_nonzero(lam) == 1 and np.max(lam) > 0
    }
    chunk = _chunk_size(model, needed, draws, restrict)
    starts = range(0, draws, chunk)
    from tqdm.auto import tqdm

    samples = np.empty((draws, len(conditions)))
    disable = None if progress is None else not progress  # None: only on a terminal
    with tqdm(total=draws, desc="uncertainty", unit="draw", disable=disable, leave=False) as bar:
        for start in starts:
            stop = min(draws, start + chunk)
            part = streams.take(stop - start)
            tables = SlicedTables(_tables.build_tables(model.spec, part, model.references, variables=needed, restrict=restrict))
            post, lz = condition_posteriors(model, likelihoods, tables=tables)
            if not np.all(np.isfinite(lz)):
                raise EvidenceError(
                    "The evidence has probability zero under some parameter draws; the uncertainty analysis "
                    "cannot condition on it."
                )
            samples[start:stop] = post
            bar.update(stop - start)
    samples_frame = pd.DataFrame(samples, columns=conditions)
    samples_frame.index.name = "draw"

    top_index = int(np.argmax(point))
    draw_top = np.argmax(samples, axis=1)
    q = np.quantile(samples, [0.5, 0.05, 0.95, 0.025, 0.975], axis=0)
    table = pd.DataFrame(
        {
            "condition": conditions,
            "label": [model.label(c) for c in conditions],
            "point": point,
            "mean": samples.mean(axis=0),
            "sd": samples.std(axis=0, ddof=1),
            "median": q[0],
            "low90": q[1],
            "high90": q[2],
            "low95": q[3],
            "high95": q[4],
            "p_top": np.bincount(draw_top, minlength=len(conditions)) / draws,
        }
    )
    table = table.sort_values("point", ascending=False, kind="stable").reset_index(drop=True)
    table["point_rank"] = np.arange(1, len(table) + 1)
    return Uncertainty(
        table=table,
        samples=samples_frame,
        p_top_differs=float(np.mean(draw_top != top_index)),
        top=conditions[top_index],
        draws=draws,
        seed=seed,
        evidence=ev,
        provenance=provenance_of(model),
    )
