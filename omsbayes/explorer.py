"""An interactive what-if explorer for notebooks: age, findings and tests in; posteriors and the next test out.

:meth:`Explorer.update` is the whole computation (a diagnosis and the value
of information of every finding and test not yet known, through
:meth:`~omsbayes.DiagnosticModel.diagnose` and
:meth:`~omsbayes.DiagnosticModel.value_of_information`); it needs no browser
and is what the tests call. :meth:`Explorer.widget` wraps it in ipywidgets:
on the left an age slider (months for infants, years after) and one toggle
per finding and test (absent / unknown / present, or negative / unknown /
positive); beside them live posterior bars and the list of the most
informative next findings and tests. :meth:`Explorer.update` also moves the
widget's controls. ``omsbayes explorer`` serves the widget as a web page
with Voila, outside Jupyter (for a classroom).

ipywidgets is optional: ``python -m pip install 'omsbayes[notebook]'``.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from .errors import EvidenceError, did_you_mean

if TYPE_CHECKING:  # pragma: no cover
    from .diagnosis import Diagnosis
    from .information import ValueOfInformation
    from .model import DiagnosticModel

__all__ = ["Explorer", "ExplorerState", "UNKNOWN", "age_choices", "age_text"]

#: The toggle position of a finding or test that is not known.
UNKNOWN = "unknown"

#: Default of :meth:`Explorer.update`'s age: keep the current one.
_KEEP = object()

_INSTALL_HINT = "The explorer widget needs ipywidgets: python -m pip install 'omsbayes[notebook]'"


@dataclass(frozen=True)
class ExplorerState:
    """What the explorer shows for one setting of age and evidence.

    Attributes
    ----------
    age : float or None
        Age in years (None: unknown).
    evidence : dict
        The known findings and tests (variable -> state).
    diagnosis : Diagnosis
        ``model.diagnose(evidence, age)``.
    value_of_information : ValueOfInformation or None
        ``model.value_of_information(evidence, age, candidates)`` over the
        explorer's findings and tests not yet known (None when all are known).
    next_tests : pandas.DataFrame
        The first rows of ``value_of_information.table`` (``label``, ``role``,
        ``expected_entropy_reduction``, ``p_top_changes``,
        ``most_likely_result``), most informative first.
    """

    age: float | None
    evidence: dict
    diagnosis: Diagnosis
    value_of_information: ValueOfInformation | None
    next_tests: pd.DataFrame

    @property
    def posterior(self) -> pd.DataFrame:
        """The ranked differential (``diagnosis.table``)."""
        return self.diagnosis.table

    def next_tests_html(self) -> str:
        """The next-best findings and tests as a small HTML table."""
        if self.next_tests.empty:
            return "<p>Every finding and test offered is known.</p>"
        rows = "".join(
            f"<tr><td>{i}</td><td>{html.escape(str(r.label))}</td><td>{html.escape(str(r.role))}</td>"
            f"<td>{r.expected_entropy_reduction:.3f}</td><td>{r.p_top_changes:.2f}</td>"
            f"<td>{html.escape(str(r.most_likely_result))}</td></tr>"
            for i, r in enumerate(self.next_tests.itertuples(), start=1)
        )
        return (
            "<b>Which finding or test next?</b><table style='font-size:12px;border-spacing:10px 2px'><tr><th></th><th>finding or test</th>"
            "<th>kind</th><th title='expected entropy reduction over the conditions, in bits'>information (bits)</th>"
            "<th title='probability that the result changes the top diagnosis'>P(top changes)</th>"
            f"<th>most likely result</th></tr>{rows}</table>"
        )

    def _repr_html_(self) -> str:
        return self.diagnosis._repr_html_() + self.next_tests_html()


class Explorer:
    """What-if explorer: set the age and any findings or tests; see the posteriors and the next best test.

    Parameters
    ----------
    model : DiagnosticModel
    age : float, optional
        Starting age in years (None: unknown).
    evidence : mapping, optional
        Starting findings and tests, as state names.
    variables : sequence of str, optional
        The findings and tests offered (default: every finding and test of
        the model, findings first).
    next_tests : int
        How many of the most informative findings and tests to list.

    Raises
    ------
    EvidenceError
        For an unknown variable, one that is neither a finding nor a test, or
        a state it does not have.

    Examples
    --------
    >>> import omsbayes
    >>> explorer = omsbayes.Explorer(omsbayes.load_model(), age=1.5)
    >>> state = explorer.update(opsoclonus="present", ataxia="present")
    >>> state.diagnosis.top
    'oms'
    >>> state.next_tests["label"].iloc[0]
    'Body imaging shows a mass'

    In a notebook, ``explorer.widget()`` shows the controls.
    """

    def __init__(
        self,
        model: DiagnosticModel,
        age: float | None = None,
        evidence: Mapping[str, str] | None = None,
        variables: Sequence[str] | None = None,
        next_tests: int = 5,
    ):
        self.model = model
        offered = list(model.findings) + list(model.tests) if variables is None else list(variables)
        for name in offered:
            model.states(name)  # unknown names raise with a did-you-mean
            if model.role(name) not in ("finding", "test"):
                raise EvidenceError(
                    f"The explorer offers findings and tests only; {name!r} is a {model.role(name)}."
                )
        self.variables = offered
        self.n_next = int(next_tests)
        self._age: float | None = None
        self._evidence: dict[str, str] = {}
        self.controls: dict = {}
        self._widgets: dict = {}
        self.state = self.update(age=age, **dict(evidence or {}))

    # -- the computation ------------------------------------------------------------
    def options(self, variable: str) -> tuple[str, ...]:
        """The toggle positions of a variable: ``absent / unknown / present`` for two states, else unknown first."""
        states = self.model.states(variable)
        if len(states) == 2:
            return (states[0], UNKNOWN, states[1])
        return (UNKNOWN, *states)

    def compute(self, age: float | None, evidence: Mapping[str, str]) -> ExplorerState:
        """The state for this age and evidence; changes nothing (the pure part of the callback)."""
        evidence = dict(evidence)
        dx = self.model.diagnose(evidence, age=age)
        candidates = [v for v in self.variables if v not in evidence]
        voi = self.model.value_of_information(evidence, age=age, candidates=candidates) if candidates else None
        columns = ["candidate", "label", "role", "expected_entropy_reduction", "p_top_changes", "most_likely_result"]
        if voi is None:
            table = pd.DataFrame(columns=columns)
        else:
            table = voi.table[columns].head(self.n_next).reset_index(drop=True)
        return ExplorerState(age, evidence, dx, voi, table)

    def update(self, age=_KEEP, **states: str | None) -> ExplorerState:
        """Change the age and any findings or tests, recompute, and return the new state.

        Parameters
        ----------
        age : float or None, optional
            New age in years; None makes it unknown; leave it out to keep it.
        **states : str or None
            ``variable=state`` for a known finding or test, ``variable="unknown"``
            (or None) to forget it. Variables left out keep their setting.

        Returns
        -------
        ExplorerState
            Also stored as ``explorer.state``.

        Raises
        ------
        EvidenceError
            For a variable the explorer does not offer, a state it does not
            have, or an invalid age; the explorer keeps its previous state.
        """
        evidence = dict(self._evidence)
        for name, value in states.items():
            if name not in self.variables:
                raise EvidenceError(
                    f"The explorer has no toggle for {name!r}." + did_you_mean(str(name), self.variables)
                )
            if value is None or value == UNKNOWN:
                evidence.pop(name, None)
            elif value not in self.model.states(name):
                raise EvidenceError(
                    f"Variable '{name}' has no state {value!r}; its toggle positions are {list(self.options(name))}."
                    + did_you_mean(str(value), self.options(name))
                )
            else:
                evidence[name] = value
        new_age = self._age if age is _KEEP else age
        state = self.compute(new_age, evidence)
        self._age, self._evidence, self.state = new_age, evidence, state
        if self.controls:  # a widget is shown: move its controls and redraw its results
            self._sync_controls()
            self._draw()
        return state

    # -- the widget -----------------------------------------------------------------
    def widget(self, top: int = 8):
        """The interactive explorer (ipywidgets): controls on the left, results beside them.

        Parameters
        ----------
        top : int
            Conditions shown in the posterior bars.

        Returns
        -------
        ipywidgets.HBox
            Display it in a notebook (or serve it with ``omsbayes explorer``).
            Left: the age (a paediatric-friendly slider, months for infants,
            years after; see :func:`age_choices`) and one toggle per finding
            and test, in scrolling tabs. Right: the posterior bars and the
            next best tests. The controls are in ``explorer.controls``
            (``"age"``, ``"age_known"`` and one per finding or test); changing
            one recomputes through :meth:`update`, and :meth:`update` moves
            the controls to match.

        Raises
        ------
        ImportError
            Without ipywidgets, with the install command.
        """
        try:
            import ipywidgets as widgets
        except ImportError as exc:
            raise ImportError(_INSTALL_HINT) from exc

        start = self._age if self._age is not None else 2.0
        age = widgets.SelectionSlider(
            options=age_choices(start), value=start, description="Age",
            continuous_update=False, style={"description_width": "40px"}, layout=widgets.Layout(width="400px"),
        )
        known = widgets.Checkbox(value=self._age is not None, description="age known", indent=False,
                                 layout=widgets.Layout(width="110px", margin="0 0 0 12px"))
        controls = {"age": age, "age_known": known}
        rows: dict[str, list] = {"finding": [], "test": []}
        for name in self.variables:
            toggle = widgets.ToggleButtons(
                options=list(self.options(name)),
                value=self._evidence.get(name, UNKNOWN),
                tooltips=[f"{self.model.label(name)}: {o}" for o in self.options(name)],
                style={"button_width": "76px", "font_size": "11px"},
                layout=widgets.Layout(width="auto"),
            )
            # the label in its own widget: it wraps instead of being cut off at a fixed description width
            label = widgets.HTML(
                f"<span style='font-size:12px;line-height:1.2'>{html.escape(self.model.label(name))}</span>",
                layout=widgets.Layout(width="150px", min_width="150px"),
            )
            controls[name] = toggle
            rows[self.model.role(name)].append(
                widgets.HBox([label, toggle], layout=widgets.Layout(align_items="center", overflow="visible"))
            )
        scroll = widgets.Layout(max_height="460px", overflow="auto", width="100%")
        tabs = widgets.Tab(children=[widgets.VBox(rows["finding"], layout=scroll), widgets.VBox(rows["test"], layout=scroll)])
        tabs.set_title(0, "Findings")
        tabs.set_title(1, "Tests")
        plot = widgets.Output(layout=widgets.Layout(width="100%"))
        listing = widgets.HTML()
        self.controls = controls
        self._widgets = {"plot": plot, "next_tests": listing, "top": top, "syncing": False}
        for control in controls.values():
            control.observe(self._on_change, names="value")
        self._draw()
        left = widgets.VBox(
            [widgets.HBox([age, known], layout=widgets.Layout(align_items="center")), tabs],
            layout=widgets.Layout(width="540px", min_width="540px"),
        )
        right = widgets.VBox([plot, listing], layout=widgets.Layout(flex="1 1 auto", min_width="600px", overflow="visible"))
        return widgets.HBox([left, right], layout=widgets.Layout(align_items="flex-start", width="100%"))

    def _sync_controls(self) -> None:
        """Move the controls to the current state (after :meth:`update` from code), without re-triggering it."""
        c = self.controls
        if not c:
            return
        self._widgets["syncing"] = True
        try:
            if self._age is not None:
                if self._age not in c["age"].options:
                    c["age"].options = age_choices(self._age)
                c["age"].value = self._age
            c["age_known"].value = self._age is not None
            for name in self.variables:
                c[name].value = self._evidence.get(name, UNKNOWN)
        finally:
            self._widgets["syncing"] = False

    def _on_change(self, change=None) -> None:
        """Observer of every control: read them all, update, redraw."""
        if self._widgets.get("syncing"):
            return
        c = self.controls
        age = c["age"].value if c["age_known"].value else None
        states = {name: c[name].value for name in self.variables}
        try:
            self.update(age=age, **states)
        except EvidenceError as exc:  # evidence the model calls impossible: say so, keep the last state
            self._widgets["next_tests"].value = f"<p style='color:#D55E00'>{html.escape(str(exc))}</p>"
            return

    def _draw(self) -> None:
        import matplotlib.pyplot as plt
        from IPython.display import display

        out = self._widgets["plot"]
        out.clear_output(wait=True)
        with out:
            fig, ax = plt.subplots(figsize=(6.2, 0.45 * self._widgets["top"] + 2.2), layout="constrained")
            self.state.diagnosis.plot(ax=ax, top=self._widgets["top"])
            display(fig)
            plt.close(fig)
        self._widgets["next_tests"].value = self.state.next_tests_html()


#: Ages offered by the widget's slider: months through infancy, then years, sparser with age.
AGE_STOPS_YEARS = (
    tuple(m / 12 for m in (0, 1, 2, 3, 4, 6, 9, 12, 15, 18, 21))
    + (2.0, 2.5, 3.0, 3.5, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0, 17.0, 18.0)
    + (20.0, 25.0, 30.0, 35.0, 40.0, 45.0, 50.0, 55.0, 60.0, 65.0, 70.0, 75.0, 80.0, 85.0, 90.0)
)


def age_text(years: float) -> str:
    """An age as a clinician says it: ``3 months``, ``1 year 6 months``, ``7 years``."""
    months = round(years * 12)
    if months < 24 and abs(years * 12 - months) < 1e-6:
        if months < 12:
            return f"{months} month" + ("" if months == 1 else "s")
        rest = months - 12
        return "1 year" + (f" {rest} month" + ("" if rest == 1 else "s") if rest else "")
    return f"{years:g} years"


def age_choices(include: float | None = None) -> list[tuple[str, float]]:
    """The age slider's stops as ``(label, years)``: months for infants and toddlers, years after.

    Half the slider covers the first 18 years, where the differential changes
    fastest, instead of the 20% a linear 0-90 slider gives them. ``include``
    (an age in years, e.g. a case's 2.42) is added when it is not a stop.
    """
    stops = set(AGE_STOPS_YEARS)
    if include is not None:
        stops.add(float(include))
    return [(age_text(y), y) for y in sorted(stops)]
