"""How results read: probability labels, the prior explained, consensus-criteria wording, HTML (issue 11)."""

from __future__ import annotations

import numpy as np
import pytest

from omsbayes.diagnosis import NOT_A_DEVICE, PRIOR_MEANING, consensus_criteria, probability_text
from omsbayes.evidence import NormalizedEvidence
from omsbayes.plotting.diagnosis import POSTERIOR_LABEL, PRIOR_LABEL
from omsbayes.plotting.style import percent


@pytest.mark.parametrize(
    "p,text",
    [(0.0, "0%"), (1.0, "100%"), (0.9995, ">99.9%"), (0.995, "99.5%"), (0.42, "42%"), (0.05, "5.0%"),
     (0.0042, "0.42%"), (2.8e-5, "0.0028%"), (3e-7, "0.000030%")],
)
def test_percent_never_rounds_to_certainty_or_zero(p, text):
    assert percent(p) == text


@pytest.mark.parametrize("p", [1e-12, 3e-9, 2.8e-5, 0.00099, 0.5, 0.9995, 0.99995, 1 - 1e-9])
def test_table_text_keeps_small_and_near_one_values_readable(p):
    text = probability_text(p)
    assert float(text) == pytest.approx(p, rel=0.01, abs=0)  # never 0.0000 or 1.0000
    assert text not in ("0", "1", "0.0000", "1.0000")


def test_diagnosis_plot_labels_one_format_and_explains_the_prior(tiny):
    dx = tiny.diagnose({"opsoclonus": "present", "urine_catecholamines": "positive"}, age=1.5)
    ax = dx.plot()
    labels = [t.get_text() for t in ax.texts]
    values = list(dx.table.iloc[::-1]["prior"]) + list(dx.table.iloc[::-1]["posterior"])
    assert sorted(labels) == sorted(percent(v) for v in values)
    assert all(label.endswith("%") for label in labels)  # no mix of % and 1e-05
    legend = ax.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == [PRIOR_LABEL, POSTERIOR_LABEL]
    title = " ".join(legend.get_title().get_text().split())
    assert "before any finding or test" in title and "(toddler)" in title


def test_report_and_html_show_small_posteriors_and_say_what_the_prior_is(tiny):
    dx = tiny.diagnose({"opsoclonus": "absent", "ataxia": "absent", "urine_catecholamines": "negative"}, age=40)
    assert dx.posterior.min() < 1e-4  # the defect: such values printed as 0.0000
    report = dx.report()
    for cond, row in dx.table.iterrows():
        line = next(l for l in report.splitlines() if f"  {row['label']} " in l)
        assert line.split()[-1] == probability_text(row["posterior"]) != "0.0000"
    assert PRIOR_MEANING in report
    html = dx._repr_html_()
    assert probability_text(dx.posterior.min()) in html and PRIOR_MEANING in html


def test_html_keeps_the_header_and_the_not_a_medical_device_line(tiny):
    dx = tiny.diagnose({"opsoclonus": "present"}, age=2)
    html = dx._repr_html_()
    first = dx.report().splitlines()[:2]
    assert first[0].startswith("Age: 2 years") and first[1].startswith("Evidence: opsoclonus=present")
    for line in first:
        assert line in html
    assert NOT_A_DEVICE in html and dx.report().endswith(NOT_A_DEVICE)


def _ev(hard=None, soft=None):
    soft = {k: np.asarray(v, dtype=float) for k, v in (soft or {}).items()}
    return NormalizedEvidence(hard=hard or {}, soft=soft, age_years=2.0, age_bin="toddler")


def test_criteria_wording_says_what_is_met_needed_and_unknown():
    c = consensus_criteria(_ev({"opsoclonus": "present", "ataxia": "present"}))
    assert c.status == "not yet met (needs 1 more of the 2 not known)"
    assert c.summary() == (
        "2004 consensus criteria (3 of 4 needed): not yet met: 2 of 4 met (opsoclonus, myoclonus and/or ataxia); "
        "1 more needed of the 2 not known (behavioural change and/or sleep disturbance, neuroblastoma)"
    )
    c = consensus_criteria(_ev({"opsoclonus": "absent", "myoclonus": "absent", "ataxia": "absent"}))
    assert c.summary().endswith("cannot be met: 0 of 4 met, 2 ruled out (opsoclonus, myoclonus and/or ataxia)")


def test_certain_soft_evidence_counts_as_known():
    c = consensus_criteria(_ev({"opsoclonus": "present"}, {"ataxia": [0, 1], "irritability": [0, 0.3], "myoclonus": [1, 0]}))
    assert c.myoclonus_or_ataxia is True and c.behaviour_or_sleep is True and c.status == "met"
    c = consensus_criteria(_ev(soft={"opsoclonus": [1, 0], "neuroblastoma": [1, 0]}))
    assert c.opsoclonus is False and c.neuroblastoma is False
    # uncertain soft evidence is still not known
    c = consensus_criteria(_ev(soft={"opsoclonus": [0.3, 0.7], "mibg_scan": [0.1, 1]}))
    assert c.opsoclonus is None and c.neuroblastoma is None
    # a certain positive tumour test meets the neuroblastoma criterion
    assert consensus_criteria(_ev(soft={"mibg_scan": [0, 2]})).neuroblastoma is True


def test_certain_soft_evidence_in_a_diagnosis(model):
    dx = model.diagnose({"opsoclonus": 1.0, "ataxia": 1.0, "irritability": "present"}, age=2)
    assert dx.criteria.status == "met"
