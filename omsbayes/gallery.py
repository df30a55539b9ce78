"""The plot gallery: every kind of omsbayes plot, drawn for the demo case and written as PNG files.

The demo case is the public board-style vignette ``pub-board-18mo-oms-neuroblastoma``
(an 18-month-old boy with opsoclonus, myoclonus, ataxia, an abdominal mass
and raised urine catecholamines; ``omsbayes demo`` diagnoses it). Plots of
the whole case show how it was diagnosed; the analyses that ask what to do or
how far a conclusion holds (tornado, uncertainty, value of information,
what-if, parameter sweep, evidence impact) use the case *at presentation*:
its neurological signs, before the mass and the urine test, when the open
question was whether there is a tumour. File names say which.

``omsbayes plots --out DIR`` runs :func:`write_gallery`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .cases import DEMO_CASE

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    from matplotlib.figure import Figure

    from .cases import Case
    from .model import DiagnosticModel

__all__ = ["DEMO_CASE", "GalleryPlot", "gallery_plots", "write_gallery", "at_presentation"]

#: The public vignette every gallery plot is drawn for.


@dataclass(frozen=True)
class GalleryPlot:
    """One plot of the gallery: how to compute its result and how to draw it.

    Attributes
    ----------
    name : str
        The file name without ``.png``.
    description : str
        One line: what the plot shows.
    compute : callable
        ``compute()`` returns the result (a Diagnosis, Sensitivity, ...).
    draw : callable
        ``draw(result)`` returns a new matplotlib Figure.
    """

    name: str
    description: str
    compute: Callable[[], Any]
    draw: Callable[[Any], Figure]


def at_presentation(model: DiagnosticModel, evidence: dict) -> dict:
    """The clinical findings of a case without the tumour evidence (a palpable mass, the tumour tests).

    Parameters
    ----------
    model : DiagnosticModel
    evidence : dict
        A case's evidence.

    Returns
    -------
    dict
        The items whose role is ``finding``, less the abdominal mass.
    """
    from .diagnosis import NEUROBLASTOMA_TESTS

    tumour = {"abdominal_mass", *NEUROBLASTOMA_TESTS}
    return {k: v for k, v in evidence.items() if model.role(k) == "finding" and k not in tumour}


def gallery_plots(
    model: DiagnosticModel,
    case: Case | None = None,
    draws: int = 2000,
    rng: int | np.random.Generator | None = 0,
) -> list[GalleryPlot]:
    """Every plot of the gallery for a case (default: the demo case), in gallery order.

    Nothing is computed until a plot's ``compute`` is called; results shared
    by two plots are computed once.

    Parameters
    ----------
    model : DiagnosticModel
    case : Case, optional
        Default the public vignette :data:`DEMO_CASE`.
    draws : int
        Parameter draws of the uncertainty analysis.
    rng : int, numpy.random.Generator or None
        Seed of the uncertainty analysis (default 0: the same images every time).

    Returns
    -------
    list of GalleryPlot
    """
    import matplotlib.pyplot as plt

    from .cases import load_public_vignettes
    from .evaluation import evaluate
    from .frequencies import natural_frequencies
    from .plotting import plot_network, plot_sweep

    case = load_public_vignettes()[DEMO_CASE] if case is None else case
    evidence, age = dict(case.evidence), case.age_years
    signs = at_presentation(model, evidence)
    order = list(signs) + [k for k in evidence if k not in signs]

    @cache
    def diagnosis():
        return model.diagnose(evidence, age=age)

    @cache
    def tornado():
        return model.sensitivity(signs, age=age, target="neuroblastoma")

    def parameter_sweep():
        top = str(tornado().table["parameter"].iloc[0])
        return model.sweep_parameter(signs, top, age=age)

    def what_if():
        scenarios = {
            "body imaging positive": {"body_imaging_mass": "positive"},
            "body imaging negative": {"body_imaging_mass": "negative"},
            "MIBG negative": {"mibg_scan": "negative"},
            "the same signs at 30": {"age": 30},
        }
        return model.what_if(signs, scenarios, age=age)

    def figure_of(draw_on_axes):
        def draw(result):
            return draw_on_axes(result).figure

        return draw

    def draw_parameter_sweep(sweep):
        name = str(sweep.table["parameters"].iloc[0])
        return plot_sweep(sweep, xlabel=str(model.parameters.loc[name, "means"])).figure

    def draw_frequency_trees(freq):
        fig, axes = plt.subplots(2, 1, figsize=(10, 8.5), layout="constrained")
        freq.plot(ax=axes[0], split_by=freq.first)
        freq.plot(ax=axes[1], split_by=freq.second)
        return fig

    return [
        GalleryPlot("prior_vs_posterior", "the differential: prior (age only) and posterior of every condition",
                    diagnosis, figure_of(lambda r: r.plot())),
        GalleryPlot("evidence_trajectory", "posteriors as the findings are added, signs first, then the tumour",
                    lambda: model.evidence_trajectory(evidence, order=order, age=age), figure_of(lambda r: r.plot())),
        GalleryPlot("evidence_impact_at_presentation", "what each sign does to the top condition",
                    lambda: model.evidence_impact(signs, age=age), figure_of(lambda r: r.plot())),
        GalleryPlot("tornado_at_presentation", "P(neuroblastoma) at each end of each parameter's 95% interval",
                    tornado, figure_of(lambda r: r.plot())),
        GalleryPlot("uncertainty_at_presentation", "posterior intervals over draws of all parameters",
                    lambda: model.uncertainty(signs, age=age, draws=draws, rng=rng, progress=False),
                    figure_of(lambda r: r.plot(top=6))),
        GalleryPlot("value_of_information_at_presentation", "which finding or test next",
                    lambda: model.value_of_information(signs, age=age), figure_of(lambda r: r.plot())),
        GalleryPlot("what_if_at_presentation", "the differential under the results of the tumour tests",
                    what_if, figure_of(lambda r: r.plot(top=4))),
        GalleryPlot("age_sweep", "the same findings at every age", lambda: model.sweep_age(evidence),
                    figure_of(lambda r: r.plot(top=4))),
        GalleryPlot("parameter_sweep_at_presentation", "the posteriors along the top tornado parameter's interval",
                    parameter_sweep, draw_parameter_sweep),
        GalleryPlot("network", "the network, conditions coloured by their posterior", diagnosis,
                    figure_of(lambda r: plot_network(model, diagnosis=r))),
        GalleryPlot("natural_frequencies", "neuroblastoma and OMS at the case's age, as counts split both ways",
                    lambda: natural_frequencies(model, "neuroblastoma", "oms", age=age), draw_frequency_trees),
        GalleryPlot("calibration", "reliability of the model on the public vignettes",
                    lambda: evaluate(model, load_public_vignettes()), figure_of(lambda r: r.plot())),
    ]


def write_gallery(
    model: DiagnosticModel,
    out_dir: str | Path,
    progress: bool = False,
    draws: int = 2000,
    rng: int | np.random.Generator | None = 0,
    only: Sequence[str] | None = None,
) -> list[Path]:
    """Compute every gallery result for the demo case and write one PNG per plot kind.

    Parameters
    ----------
    model : DiagnosticModel
    out_dir : str or Path
        Created if needed; existing files of the same names are replaced.
    progress : bool
        Show a progress bar.
    draws : int
        Parameter draws of the uncertainty analysis.
    rng : int, numpy.random.Generator or None
        Seed of the uncertainty analysis.
    only : sequence of str, optional
        Write only these plots (names as in :func:`gallery_plots`, e.g.
        ``["tornado_at_presentation"]``); default all.

    Returns
    -------
    list of Path
        The files written, in gallery order (see :func:`gallery_plots`).

    Raises
    ------
    EvidenceError
        For a name in ``only`` that is not a gallery plot.

    Examples
    --------
    >>> import omsbayes
    >>> from omsbayes.gallery import write_gallery
    >>> files = write_gallery(omsbayes.load_model(), "omsbayes-output/plots")  # doctest: +SKIP
    """
    import matplotlib.pyplot as plt
    from tqdm.auto import tqdm

    from .plotting.style import style

    plots = gallery_plots(model, draws=draws, rng=rng)
    if only is not None:
        from .errors import EvidenceError, did_you_mean

        names = [p.name for p in plots]
        for name in only:
            if name not in names:
                raise EvidenceError(
                    f"There is no gallery plot {name!r}; the plots are {', '.join(names)}."
                    + did_you_mean(str(name), names)
                )
        plots = [p for p in plots if p.name in set(only)]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for plot in tqdm(plots, desc="omsbayes plots", unit="plot", disable=not progress):
        figure = plot.draw(plot.compute())
        path = out / f"{plot.name}.png"
        with style():
            figure.savefig(path)
        plt.close(figure)
        written.append(path)
    return written
