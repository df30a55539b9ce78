"""An interactive what-if explorer for notebooks: age, findings and tests in; posteriors and the next test out.

:meth:`Explorer.update` is the whole computation (a diagnosis and the value
of information of every finding and test not yet known, through
:meth:`~omsbayes.DiagnosticModel.diagnose` and
:meth:`~omsbayes.DiagnosticModel.value_of_information`); it needs no browser
and is what the tests call. :meth:`Explorer.widget` wraps it in ipywidgets:
an age slider, one toggle per finding and test (absent / unknown / present,
or negative / unknown / positive), live posterior bars and the list of the
most informative next findings and tests.

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

__all__ = ["Explorer", "ExplorerState", "UNKNOWN"]

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
            "<b>Which finding or test next?</b><table><tr><th></th><th>finding or test</th><th>kind</th>"
            "<th>expected entropy reduction (bits)</th><th>P(changes the top diagnosis)</th>"
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
        return state

    # -- the widget -----------------------------------------------------------------
    def widget(self, top: int = 8):
        """The interactive explorer (ipywidgets): controls, posterior bars, next best tests.

        Parameters
        ----------
        top : int
            Conditions shown in the posterior bars.

        Returns
        -------
        ipywidgets.VBox
            Display it in a notebook. The controls are also in
            ``explorer.controls`` (``"age"`` and one per finding or test);
            changing a control's value recomputes through :meth:`update`.

        Raises
        ------
        ImportError
            Without ipywidgets, with the install command.
        """
        try:
            import ipywidgets as widgets
        except ImportError as exc:
            raise ImportError(_INSTALL_HINT) from exc

        age = widgets.FloatSlider(
            value=self._age if self._age is not None else 2.0, min=0.0, max=90.0, step=0.5,
            description="Age (years)", continuous_update=False, style={"description_width": "initial"},
        )
        known = widgets.Checkbox(value=self._age is not None, description="age known")
        controls = {"age": age, "age_known": known}
        rows = {"finding": [], "test": []}
        for name in self.variables:
            toggle = widgets.ToggleButtons(
                options=list(self.options(name)),
                value=self._evidence.get(name, UNKNOWN),
                description=self.model.label(name),
                style={"description_width": "220px", "button_width": "78px"},
            )
            controls[name] = toggle
            rows[self.model.role(name)].append(toggle)
        tabs = widgets.Tab(children=[widgets.VBox(rows["finding"]), widgets.VBox(rows["test"])])
        tabs.set_title(0, "Findings")
        tabs.set_title(1, "Tests")
        plot = widgets.Output()
        listing = widgets.HTML()
        self.controls = controls
        self._widgets = {"plot": plot, "next_tests": listing, "top": top}
        for control in controls.values():
            control.observe(self._on_change, names="value")
        self._draw()
        return widgets.VBox([widgets.HBox([age, known]), tabs, widgets.HBox([plot, listing])])

    def _on_change(self, change=None) -> None:
        """Observer of every control: read them all, update, redraw."""
        c = self.controls
        age = c["age"].value if c["age_known"].value else None
        states = {name: c[name].value for name in self.variables}
        try:
            self.update(age=age, **states)
        except EvidenceError as exc:  # evidence the model calls impossible: say so, keep the last state
            self._widgets["next_tests"].value = f"<p style='color:#D55E00'>{html.escape(str(exc))}</p>"
            return
        self._draw()

    def _draw(self) -> None:
        import matplotlib.pyplot as plt
        from IPython.display import display

        out = self._widgets["plot"]
        out.clear_output(wait=True)
        with out:
            fig, ax = plt.subplots(figsize=(7, 0.45 * self._widgets["top"] + 1.5))
            self.state.diagnosis.plot(ax=ax, top=self._widgets["top"])
            display(fig)
            plt.close(fig)
        self._widgets["next_tests"].value = self.state.next_tests_html()
