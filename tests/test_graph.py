"""d-separation: hand-derived cases, networkx as an independent oracle, and the numbers agree."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import omsbayes
from omsbayes import EvidenceError
from omsbayes.graph import d_separated, to_networkx

from .conftest import TINY_MODEL

_TINY = omsbayes.load_model(TINY_MODEL)
_MODEL = omsbayes.load_model()

# The tiny model's graph (tests/data/tiny_model/model.yaml):
#   age -> recent_infection, age -> neuroblastoma,
#   (age, recent_infection, neuroblastoma) -> oms, (age, recent_infection) -> aca,
#   (oms, aca) -> opsoclonus, (age, oms, aca) -> ataxia,
#   (neuroblastoma, oms) -> urine_catecholamines, (oms, aca) -> onset.
# Each case was worked out by listing the trails by hand.
TINY_CASES = [
    # the two causes of OMS share the parent age: a fork, open unless age is known
    ("recent_infection", "neuroblastoma", (), False),
    ("recent_infection", "neuroblastoma", ("age",), True),
    # observing the common effect OMS opens the collider: explaining away
    ("recent_infection", "neuroblastoma", ("age", "oms"), False),
    # so does observing a descendant of the collider
    ("recent_infection", "neuroblastoma", ("age", "opsoclonus"), False),
    ("recent_infection", "neuroblastoma", ("age", "urine_catecholamines"), False),
    # a finding of aca alone says nothing about the tumour once age is known (aca and oms are not linked
    # except through recent_infection, and opsoclonus is an unobserved collider)
    ("aca", "neuroblastoma", ("age",), True),
    ("aca", "neuroblastoma", ("age", "opsoclonus"), False),
    # urine and opsoclonus given OMS: still linked through
    # urine <- neuroblastoma -> oms <- recent_infection -> aca -> opsoclonus (oms is an observed collider) ...
    ("urine_catecholamines", "opsoclonus", ("age", "oms"), False),
    # ... and blocked once the tumour is known as well
    ("urine_catecholamines", "opsoclonus", ("age", "oms", "neuroblastoma"), True),
    # a chain: age -> recent_infection -> aca, blocked by recent_infection and age ... but age -> aca directly
    ("age", "aca", ("recent_infection",), False),
    ("recent_infection", "onset", ("oms", "aca"), True),
    ("recent_infection", "onset", ("oms",), False),
]


@pytest.mark.parametrize("x, y, given_, expected", TINY_CASES)
def test_hand_derived_cases_on_the_tiny_model(x, y, given_, expected):
    assert _TINY.d_separated(x, y, given=given_) is expected
    assert _TINY.d_separated(y, x, given=given_) is expected  # symmetric


def test_hand_derived_cases_on_the_oms_model():
    # the two causes of OMS: dependent through age, independent given age, dependent again given OMS
    assert not _MODEL.d_separated("recent_infection", "neuroblastoma")
    assert _MODEL.d_separated("recent_infection", "neuroblastoma", given="age")
    assert not _MODEL.d_separated("recent_infection", "neuroblastoma", given=["age", "oms"])
    assert not _MODEL.d_separated("recent_infection", "neuroblastoma", given=["age", "opsoclonus"])
    # MIBG has parents neuroblastoma and oms only: given both, it tells nothing about any finding
    assert _MODEL.d_separated("mibg_scan", ["opsoclonus", "ataxia", "recent_infection"], given=["neuroblastoma", "oms"])
    # given OMS alone, a negative MIBG still speaks about the infection (through the tumour)
    assert not _MODEL.d_separated("mibg_scan", "recent_infection", given=["age", "oms"])


def test_to_networkx_has_every_edge_and_attribute():
    graph = to_networkx(_MODEL)
    assert list(graph.nodes) == _MODEL.variables
    assert graph.number_of_edges() == sum(len(_MODEL.parents(v)) for v in _MODEL.variables)
    for v in _MODEL.variables:
        assert set(graph.predecessors(v)) == set(_MODEL.parents(v))
        assert graph.nodes[v]["role"] == _MODEL.role(v)
        assert graph.nodes[v]["label"] == _MODEL.label(v)
    assert nx.is_directed_acyclic_graph(graph)


_NAMES = _MODEL.variables


@given(
    st.lists(st.sampled_from(_NAMES), min_size=3, max_size=9, unique=True),
    st.integers(min_value=1, max_value=3),
    st.integers(min_value=1, max_value=3),
)
def test_agrees_with_networkx(names, nx_count, ny_count):
    xs = names[:nx_count]
    ys = names[nx_count : nx_count + ny_count]
    zs = names[nx_count + ny_count :]
    if not ys:
        return
    expected = nx.is_d_separator(to_networkx(_MODEL), set(xs), set(ys), set(zs))
    assert d_separated(_MODEL, xs, ys, zs) is expected


_TINY_NAMES = [v for v in _TINY.variables if v != "age"]


@given(st.lists(st.sampled_from(_TINY_NAMES), min_size=2, max_size=5, unique=True))
def test_d_separation_means_the_numbers_do_not_move(names):
    """If x and y are d-separated given z, observing y leaves P(x | z) unchanged (and it moves if not)."""
    x, y, *zs = names
    z = {v: _TINY.states(v)[-1] for v in zs}
    before = _TINY.query([x], z, age=2.0)[x]
    moved = 0.0
    for state in _TINY.states(y):
        after = _TINY.query([x], {**z, y: state}, age=2.0)[x]
        moved = max(moved, float(np.max(np.abs(after - before))))
    if _TINY.d_separated(x, y, given=["age", *zs]):
        assert moved < 1e-12
    else:
        # d-connection allows dependence; in this model's tables it is always there
        assert moved > 1e-9


def test_errors():
    with pytest.raises(EvidenceError, match="Unknown variable 'opsoklonus'.*Did you mean 'opsoclonus'"):
        _MODEL.d_separated("opsoklonus", "oms")
    with pytest.raises(EvidenceError, match="must not overlap; oms appears in more than one"):
        _MODEL.d_separated("oms", "neuroblastoma", given=["oms"])
    with pytest.raises(EvidenceError, match="at least one variable on each side"):
        _MODEL.d_separated([], "oms")
    with pytest.raises(EvidenceError, match="must be variable names. Got 3 instead"):
        _MODEL.d_separated("oms", "neuroblastoma", given=[3])
