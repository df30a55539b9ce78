"""Models that have run queries pickle (joblib, multiprocessing, Dask), and the Dask path gives diagnose_batch's answers."""

from __future__ import annotations

import multiprocessing
import pickle

import numpy as np
import pandas as pd
import pytest

from omsbayes.batch import diagnose_dask

from .test_batch import random_cohort

TOL = 1e-12


def _used_model(model):
    """The model after every kind of run: the universal program, a pattern's joint, the contraction, derivatives."""
    model.diagnose({"opsoclonus": "present", "fever": 0.3}, age=2.0)
    model.diagnose_batch(random_cohort(model, 20, np.random.default_rng(0)))
    model.query(["opsoclonus"], {"ataxia": "present"}, age=30)
    model.sensitivity({"opsoclonus": "present"}, age=2.0)
    return model


def _posteriors(model, frame):
    return model.diagnose_batch(frame).to_numpy()


def test_a_used_model_pickles_and_answers_alike(model):
    used = _used_model(model)
    frame = random_cohort(model, 30, np.random.default_rng(1))
    copy = pickle.loads(pickle.dumps(used))
    assert copy.engine.cache_size() == 0  # compiled programs are rebuilt, not shipped
    np.testing.assert_allclose(_posteriors(copy, frame), _posteriors(used, frame), rtol=0, atol=TOL)
    assert copy.diagnose({"opsoclonus": "present"}, age=2.0).posterior.equals(
        used.diagnose({"opsoclonus": "present"}, age=2.0).posterior
    )


def test_cloudpickle_round_trip(model):
    cloudpickle = pytest.importorskip("cloudpickle")
    frame = random_cohort(model, 30, np.random.default_rng(2))
    copy = cloudpickle.loads(cloudpickle.dumps(_used_model(model)))
    np.testing.assert_allclose(_posteriors(copy, frame), _posteriors(model, frame), rtol=0, atol=TOL)


def test_a_used_model_runs_in_another_process(model):
    """The model travels to a fresh interpreter (spawn: nothing inherited) and back with its answers."""
    frame = random_cohort(model, 40, np.random.default_rng(3))
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        theirs = pool.apply(_posteriors, (_used_model(model), frame))
    np.testing.assert_allclose(theirs, _posteriors(model, frame), rtol=0, atol=TOL)


def test_a_process_forked_after_a_parallel_run_still_answers(model):
    """Forked children cannot restart the parent's OpenMP threads: they run the kernel on one thread."""
    frame = random_cohort(model, 600, np.random.default_rng(5))  # large enough for the parallel kernel
    expected = _posteriors(model, frame)
    with multiprocessing.get_context("fork").Pool(1) as pool:
        theirs = pool.apply_async(_posteriors, (model, frame)).get(timeout=120)
    np.testing.assert_allclose(theirs, expected, rtol=0, atol=TOL)


def test_dask_dataframe_on_a_local_cluster_equals_diagnose_batch(model):
    dd = pytest.importorskip("dask.dataframe")
    distributed = pytest.importorskip("distributed")
    frame = random_cohort(model, 120, np.random.default_rng(4))
    frame.loc[frame.index[5], "fever"] = 0.3  # an uncertain observation in one partition
    expected = model.diagnose_batch(frame)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as cluster:
        with distributed.Client(cluster):
            lazy = diagnose_dask(_used_model(model), dd.from_pandas(frame, npartitions=4, sort=False))
            got = lazy.compute()
    assert list(got.columns) == model.conditions
    assert list(got.index) == list(frame.index)
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), rtol=0, atol=TOL)
    assert isinstance(got, pd.DataFrame)
