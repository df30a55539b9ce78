"""d-separation: hand-derived cases, networkx as an independent oracle, and the numbers agree."""

from __future__ import annotations

import itertools

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


def _largest_shift(x: str, y: str, z: dict) -> float:
    """max over the states of y of |P(x | z, y) - P(x | z)| in the tiny model (age known)."""
    before = _TINY.query([x], z, age=2.0)[x]
    return max(float(np.max(np.abs(_TINY.query([x], {**z, y: s}, age=2.0)[x] - before))) for s in _TINY.states(y))


def test_d_separation_means_the_numbers_do_not_move():
    """Every pair x, y of the tiny model with every set z of up to three others: observing y leaves
    P(x | z) unchanged exactly when d-separation says so.

    Exhaustive rather than sampled: a d-connected pair can depend only weakly
    (the weakest here moves P by 6e-11, neuroblastoma and recent_infection given
    aca and ataxia), so the bounds are set from the whole space: rounding stays
    below 1e-15, the weakest real dependence is four orders above 1e-14.
    """
    separated, connected = [], []
    for x, y in itertools.permutations(_TINY_NAMES, 2):
        rest = [v for v in _TINY_NAMES if v not in (x, y)]
        for size in range(4):
            for zs in itertools.combinations(rest, size):
                shift = _largest_shift(x, y, {v: _TINY.states(v)[-1] for v in zs})
                (separated if _TINY.d_separated(x, y, given=["age", *zs]) else connected).append(shift)
    assert separated and connected
    assert max(separated) < 1e-14
    # d-connection allows dependence; in this model's tables it is always there
    assert min(connected) > 1e-12


def test_errors():
    with pytest.raises(EvidenceError, match="Unknown variable 'opsoklonus'.*Did you mean 'opsoclonus'"):
        _MODEL.d_separated("opsoklonus", "oms")
    with pytest.raises(EvidenceError, match="must not overlap; oms appears in more than one"):
        _MODEL.d_separated("oms", "neuroblastoma", given=["oms"])
    with pytest.raises(EvidenceError, match="at least one variable on each side"):
        _MODEL.d_separated([], "oms")
    with pytest.raises(EvidenceError, match="must be variable names. Got 3 instead"):
        _MODEL.d_separated("oms", "neuroblastoma", given=[3])
