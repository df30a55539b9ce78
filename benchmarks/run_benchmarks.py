"""Benchmarks of the compiled engine against pgmpy, measured in the same run.

Run by hand (never as a timed unit test)::

    python benchmarks/run_benchmarks.py            # the full run (a few minutes on 2 cores)
    python benchmarks/run_benchmarks.py --quick    # a smoke run with fewer cases and repeats

Every figure is a median over repeats, printed next to pgmpy's figure for the
same model and the same cases (``VariableElimination.query(..., joint=False)``
on one warm inference object) and their ratio. The four workloads of issue 3:

1. one case: all condition posteriors of each public vignette (warm), and the
   compile time of a pattern never seen before;
2. a cohort of 10,000 cases with mixed evidence patterns, forward-sampled from
   the model with a seeded numpy Generator and masked with four patterns;
   pgmpy is timed on a sample of cases and scaled per case;
3. uncertainty: every condition's posterior over 2,000 parameter draws for
   one case (``model.uncertainty``), with its parts;
4. full one-way sensitivity (every parameter, every condition) for one case
   (``model.sensitivity``), warm and from a cold engine.

Peak memory is measured with ``tracemalloc`` in separate runs (tracing slows
the timed runs down, so they are not traced).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import platform
import statistics
import sys
import time
import tracemalloc
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

import omsbayes
from omsbayes.batch import distinct_rows, encode_cohort
from omsbayes.engine import CompiledEngine
from omsbayes.engine.pgmpy_adapter import import_pgmpy
from omsbayes.tables import build_tables
from omsbayes.export import to_pyagrum
from omsbayes.uncertainty_draws import draw_parameters

MiB = 2**20
#: The workloads, in the order they run (``--only`` picks some).
WORKLOADS = ["one_case", "registry", "diagnose", "cohort", "uncertainty", "sensitivity"]
#: Largest size of the tables of all draws at once when the uncertainty workload times its parts.
PARTS_BYTES = 2 * 2**30

#: Observed variables of each cohort pattern (conditions are never observed: they are diagnosed).
PATTERNS = {
    "presentation (7 observed)": ["age", "opsoclonus", "myoclonus", "ataxia", "irritability", "sleep_disturbance", "onset"],
    "neuro exam (18 observed)": [
        "age", "opsoclonus", "myoclonus", "ataxia", "irritability", "sleep_disturbance", "onset", "nystagmus",
        "encephalopathy", "fever", "vomiting", "headache", "seizures", "focal_deficit", "ophthalmoplegia",
        "areflexia", "dysarthria", "recent_infection",
    ],
    "work-up (30 observed)": [
        "age", "opsoclonus", "myoclonus", "ataxia", "irritability", "sleep_disturbance", "onset", "nystagmus",
        "encephalopathy", "fever", "vomiting", "headache", "seizures", "focal_deficit", "ophthalmoplegia",
        "areflexia", "dysarthria", "recent_infection", "urine_catecholamines", "mibg_scan", "body_imaging_mass",
        "mri_white_matter_lesions", "mri_cerebellar_swelling", "mri_posterior_fossa_mass", "mri_infarct",
        "csf_pleocytosis", "csf_oligoclonal_bands", "csf_protein_raised", "anti_hu", "anti_ri",
    ],
    "everything but the conditions (43 observed)": None,  # filled in from the model
}


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------
@dataclass(frozen=True, order=True)
class Timing:
    """Wall-clock and CPU time (s) of one measurement (CPU time counts every thread of this process).

    Arithmetic scales both; ``a / b`` of two timings is the ratio of their wall times.
    """

    wall: float
    cpu: float

    def __add__(self, other: Timing) -> Timing:
        return Timing(self.wall + other.wall, self.cpu + other.cpu)

    def __mul__(self, k: float) -> Timing:
        return Timing(self.wall * k, self.cpu * k)

    __rmul__ = __mul__

    def __truediv__(self, other):
        if isinstance(other, Timing):
            return self.wall / other.wall
        return Timing(self.wall / other, self.cpu / other)


def timed(fn: Callable[[], object]) -> Timing:
    """The wall and CPU time of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return Timing(time.perf_counter() - wall, time.process_time() - cpu)


def median_time(fn: Callable[[], object], repeat: int) -> Timing:
    """Median wall and CPU time of ``repeat`` calls (each median taken on its own)."""
    times = [timed(fn) for _ in range(max(1, repeat))]
    return Timing(statistics.median(t.wall for t in times), statistics.median(t.cpu for t in times))


def peak_memory(fn: Callable[[], object]) -> float:
    """Peak traced allocation (MiB) during one call."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / MiB
    finally:
        tracemalloc.stop()


def fmt_time(seconds: float | Timing) -> str:
    if isinstance(seconds, Timing):
        seconds = seconds.wall
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.1f} us"


class Report:
    """Rows of (workload, ours, pgmpy, ratio, target, holds) printed as one table at the end."""

    def __init__(self):
        self.rows = []

    def add(self, workload: str, ours: Timing, reference: Timing, reference_label: str, target: str, holds: bool):
        self.rows.append(
            (
                workload,
                fmt_time(ours),
                f"{fmt_time(reference)} ({reference_label})" if reference_label else fmt_time(reference),
                f"{reference / ours:,.1f}x",
                f"{reference.cpu / ours.cpu:,.1f}x",
                target,
                "yes" if holds else "NO",
            )
        )

    def print(self):
        header = ("workload", "omsbayes (median)", "reference (median)", "ratio", "CPU-time ratio", "target", "holds")
        widths = [max(len(str(r[i])) for r in self.rows + [header]) for i in range(len(header))]
        line = "  ".join(h.ljust(w) for h, w in zip(header, widths))
        print(line)
        print("-" * len(line))
        for row in self.rows:
            print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)))


class Pgmpy:
    """pgmpy's VariableElimination on the model, one inference object reused (warm)."""

    def __init__(self, model):
        pgmpy = import_pgmpy()
        self.model = model
        self.network = model.to_pgmpy()
        self.inference = pgmpy.inference.VariableElimination(self.network)

    def query(self, hard: dict[str, str]) -> dict[str, np.ndarray]:
        queries = [c for c in self.model.conditions if c not in hard]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = self.inference.query(variables=queries, evidence=dict(hard) or None, joint=False, show_progress=False)
        out = {}
        for var, factor in result.items():
            order = [factor.state_names[var].index(s) for s in self.model.states(var)]
            out[var] = np.asarray(factor.values, dtype=float)[order]
        return out


class PyAgrum:
    """pyAgrum's LazyPropagation (exact, junction tree, C++) on the model's tables, one object reused.

    The network is built from the tables directly (``omsbayes.export.to_pyagrum``):
    model 2.0's exports take minutes to write. The conditions are its
    targets, so it computes only their posteriors, as pgmpy is asked to.
    """

    def __init__(self, model):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # SWIG bindings warn at import
            import pyagrum

        self.model = model
        self.network = to_pyagrum(model)
        self.inference = pyagrum.LazyPropagation(self.network)
        self.inference.setTargets(set(model.conditions))
        self.version = pyagrum.__version__

    def query(self, hard: dict[str, str]) -> dict[str, np.ndarray]:
        self.inference.setEvidence(dict(hard))
        self.inference.makeInference()
        return {c: self.inference.posterior(c).toarray() for c in self.model.conditions if c not in hard}


def registry_cohort(model, n: int, rng: np.random.Generator, observed: int = 10) -> pd.DataFrame:
    """``n`` cases forward-sampled from the model, each showing its age (years) and its own ``observed`` findings and tests.

    Every row draws its own subset (uniformly) of the model's findings and
    tests, as in a registry where each case had its own work-up: nearly
    every row is an evidence pattern of its own.
    """
    codes = forward_sample(model, n, rng)
    observable = model.findings + model.tests
    keys = rng.random((n, len(observable)))
    shown = keys <= np.sort(keys, axis=1)[:, [min(observed, len(observable)) - 1]]  # each row's `observed` smallest keys
    edges = list(model.spec.age_bins_years) + [90.0]
    low, high = np.asarray(edges[:-1])[codes["age"]], np.asarray(edges[1:])[codes["age"]]
    columns = {"age": np.round(rng.uniform(low, high), 2)}
    for j, var in enumerate(observable):
        values = np.asarray(model.states(var), dtype=object)[codes[var]]
        values[~shown[:, j]] = None
        columns[var] = values
    return pd.DataFrame(columns, index=pd.RangeIndex(n, name="case"))


def forward_sample(model, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """State indices of every variable for ``n`` cases drawn from the model (ancestral sampling)."""
    codes: dict[str, np.ndarray] = {}
    for var in model.variables:
        table = model.tables[var]
        parents = model.parents(var)
        column = np.ravel_multi_index([codes[p] for p in parents], table.shape[1:]) if parents else np.zeros(n, dtype=int)
        cumulative = np.cumsum(table.reshape(table.shape[0], -1)[:, column], axis=0)
        draw = (rng.random(n)[None, :] > cumulative).sum(axis=0)
        codes[var] = np.minimum(draw, table.shape[0] - 1)
    return codes


def cohort_frame(model, n: int, rng: np.random.Generator) -> tuple[pd.DataFrame, np.ndarray]:
    """A cohort of ``n`` sampled cases, each showing the variables of one of the patterns (and ages in years)."""
    patterns = {name: [v for v in (observed or []) if v in model.state_map] for name, observed in PATTERNS.items()}
    patterns["everything but the conditions (43 observed)"] = [v for v in model.variables if model.role(v) != "condition"]
    codes = forward_sample(model, n, rng)
    which = rng.integers(0, len(patterns), n)
    edges = list(model.spec.age_bins_years) + [90.0]
    low, high = np.asarray(edges[:-1])[codes["age"]], np.asarray(edges[1:])[codes["age"]]
    columns = {}
    for var in model.variables:
        if model.role(var) == "condition":
            continue
        if var == "age":
            values = np.round(rng.uniform(low, high), 2).astype(object)
        else:
            values = np.asarray(model.states(var), dtype=object)[codes[var]]
        shown = np.zeros(n, dtype=bool)
        for number, observed in enumerate(patterns.values()):
            if var in observed:
                shown |= which == number
        values = values.copy()
        values[~shown] = None
        columns[var] = values
    frame = pd.DataFrame(columns, index=pd.RangeIndex(n, name="case")).astype(object)
    return frame, which


def hard_evidence(model, row: pd.Series) -> dict[str, str]:
    """The evidence of one cohort row as pgmpy wants it (the age as its bin)."""
    evidence = {k: v for k, v in row.items() if v is not None and k != "age" and not pd.isna(v)}
    age = row.get("age")
    if age is not None and not pd.isna(age):
        evidence["age"] = model.normalize({}, float(age)).age_bin
    return evidence


# ---------------------------------------------------------------------------
# the workloads
# ---------------------------------------------------------------------------
def paired(ours: Callable[[], object], reference: Callable[[], object], repeat: int) -> tuple[Timing, Timing]:
    """Median times of ``ours`` and ``reference``, called alternately so both meet the same load."""
    ours(), reference()  # warm
    a, b = [], []
    for _ in range(max(1, repeat)):
        a.append(timed(ours))
        b.append(timed(reference))
    def median(ts):
        return Timing(statistics.median(t.wall for t in ts), statistics.median(t.cpu for t in ts))

    return median(a), median(b)


def one_case(model, reference: Pgmpy, report: Report, repeat: int) -> None:
    print("\n== 1. One case: all condition posteriors of each public vignette ==")
    rows = []
    for case in omsbayes.load_public_vignettes():
        ev = model.normalize(case.evidence, case.age_years)
        likelihoods = ev.likelihoods(model.state_map)
        queries = [c for c in model.conditions if c not in ev.hard]
        fresh = CompiledEngine(model)
        first = timed(lambda: fresh.run(likelihoods, queries))  # noqa: B023
        ours, ref = paired(lambda: model.engine.run(likelihoods, queries), lambda: reference.query(ev.hard), 5 * repeat)  # noqa: B023
        public, ref_public = paired(
            lambda: model.posteriors(case.evidence, age=case.age_years), lambda: reference.query(ev.hard), 3 * repeat  # noqa: B023
        )
        got, expected = model.engine.run(likelihoods, queries), reference.query(ev.hard)
        worst = max(float(np.abs(got.marginals[q][0] - expected[q]).max()) for q in queries)
        rows.append((ours, ref, public, ref_public, first))
        print(
            f"  {case.id:<40} pgmpy {fmt_time(ref):>9}  engine {fmt_time(ours):>9} ({ref / ours:5.1f}x)  "
            f"model.posteriors {fmt_time(public):>9} ({ref_public / public:5.1f}x)  first run {fmt_time(first):>9}  "
            f"|diff| {worst:.1e}"
        )
    ratios = [r[1] / r[0] for r in rows]
    ratios_query = [r[3] / r[2] for r in rows]
    firsts = [r[4] for r in rows]
    print(
        f"  ratio over the vignettes: engine median {statistics.median(ratios):.1f}x (lowest {min(ratios):.1f}x); "
        f"model.posteriors median {statistics.median(ratios_query):.1f}x (lowest {min(ratios_query):.1f}x)"
    )
    print(f"  compile + first run of a new pattern: median {fmt_time(statistics.median(firsts))}, max {fmt_time(max(firsts))}")
    middle = sorted(rows, key=lambda r: r[1] / r[0])[len(rows) // 2]  # the vignette with the median ratio
    report.add("one case, warm: engine (median vignette)", middle[0], middle[1], "warm", ">= 5x", min(ratios) >= 5)
    middle = sorted(rows, key=lambda r: r[3] / r[2])[len(rows) // 2]
    report.add("one case, warm: model.posteriors (median vignette)", middle[2], middle[3], "warm", ">= 5x", min(ratios_query) >= 5)
    report.add(
        "compile a new pattern + first run (slowest)",
        max(firsts),
        statistics.median(r[1] for r in rows),
        "one query",
        "< 0.5 s",
        max(firsts).wall < 0.5,
    )


def cohort(model, reference: Pgmpy, report: Report, n: int, sample: int, repeat: int) -> None:
    print(f"\n== 4. A cohort of {n:,} cases showing one of four evidence patterns ==")
    frame, which = cohort_frame(model, n, np.random.default_rng(2024))
    for number, name in enumerate(PATTERNS):
        print(f"  pattern {name}: {int(np.sum(which == number)):,} cases")
    rng = np.random.default_rng(7)
    picked = np.concatenate(
        [
            rng.choice(np.flatnonzero(which == k), size=min(sample // len(PATTERNS), int(np.sum(which == k))), replace=False)
            for k in range(len(PATTERNS))
        ]
    )
    rng.shuffle(picked)
    from omsbayes.settings import frame_with_settings

    with_setting = frame_with_settings(model.spec, frame)  # pgmpy gets each row's setting as evidence too
    evidence = {i: hard_evidence(model, with_setting.iloc[i]) for i in picked}

    cold_model = omsbayes.load_model()
    _ = cold_model.tables
    kept = {}
    cold = timed(lambda: kept.setdefault("posteriors", cold_model.diagnose_batch(frame)))
    posteriors = kept["posteriors"]

    # pgmpy on the sample, in slices interleaved with our runs (both meet the same load)
    slices = np.array_split(picked, 2 * max(3, repeat))
    pgmpy_times, answers, ours_dedupe, ours_plain = [], {}, [], []
    for k, part in enumerate(slices):
        for i in part:
            pgmpy_times.append(timed(lambda: answers.__setitem__(i, reference.query(evidence[i]))))  # noqa: B023
        if k % 2 == 0:
            ours_dedupe.append(timed(lambda: model.diagnose_batch(frame)))
        else:
            ours_plain.append(timed(lambda: model.diagnose_batch(frame, dedupe=False)))

    def median(ts):
        return Timing(statistics.median(t.wall for t in ts), statistics.median(t.cpu for t in ts))

    per_case = median(pgmpy_times)
    warm_dedupe, warm_plain = median(ours_dedupe), median(ours_plain)
    worst = max(abs(posteriors.iloc[i][c] - answers[i][c][1]) for i in picked for c in model.conditions if c in answers[i])
    print(
        f"  pgmpy on {len(picked)} sampled cases: median {fmt_time(per_case)} per case "
        f"(mean {fmt_time(statistics.fmean(t.wall for t in pgmpy_times))}); {n:,} cases would take ~{fmt_time(per_case * n)}"
    )
    print(f"  agreement with pgmpy on the sampled cases: max |difference| {worst:.1e}")
    codes = encode_cohort(model, frame)
    number, patterns = codes.patterns()
    distinct = 0
    for k, (hard, _) in enumerate(patterns):
        rows = np.flatnonzero(number == k)
        first, _ = distinct_rows([(codes.hard[v][rows], len(model.states(v))) for v in hard])
        distinct += len(first)
    print(f"  distinct evidence rows (ages as the model's bins): {distinct:,} of {n:,}")
    for label, t in (("every row computed", warm_plain), ("distinct rows once (default)", warm_dedupe)):
        print(
            f"  model.diagnose_batch, {label:<30} {fmt_time(t):>9} = {fmt_time(t / n)} per case, "
            f"{per_case / (t / n):,.0f}x pgmpy per case (CPU time {per_case.cpu / (t.cpu / n):,.0f}x)"
        )
    print(f"  first call on a fresh model (compiles the 4 patterns): {fmt_time(cold)}")

    engine = model.engine
    print(f"  memory: each pattern runs in chunks whose intermediates fit the budget ({engine.threads} worker threads share it)")
    for hard, soft in patterns:
        queries = [c for c in model.conditions if c not in hard]
        per_row = engine.bytes_per_row(hard, soft, queries)
        chunk = engine.chunk_size(hard, soft, queries)
        print(
            f"    {len(hard):2d} observed: {per_row / 1024:6.1f} KiB per row, at most {chunk:4d} rows per chunk "
            f"-> <= {chunk * per_row / MiB:5.1f} MiB of intermediates"
        )
    for budget in (engine.memory_budget, 8 * MiB):
        peak = peak_memory(lambda: model.diagnose_batch(frame, dedupe=False, memory_budget=budget))  # noqa: B023
        taken = median_time(lambda: model.diagnose_batch(frame, dedupe=False, memory_budget=budget), 3)  # noqa: B023
        print(f"    budget {budget / MiB:5.0f} MiB: peak traced memory {peak:6.1f} MiB, {fmt_time(taken)} (every row computed)")
    report.add(f"cohort of {n:,}: every row computed (per case)", warm_plain / n, per_case, "per case", ">= 1000x", per_case / (warm_plain / n) >= 1000)
    report.add(f"cohort of {n:,}: distinct rows once (per case)", warm_dedupe / n, per_case, "per case", ">= 1000x", per_case / (warm_dedupe / n) >= 1000)


def registry(model, reference: Pgmpy, agrum: PyAgrum, report: Report, n: int, sample: int, repeat: int) -> None:
    print(f"\n== 2. A registry-like cohort of {n:,} cases: each row its own ~10 findings and tests (and its age) ==")
    frame = registry_cohort(model, n, np.random.default_rng(2026))
    codes = encode_cohort(model, frame)
    _, patterns = codes.patterns()
    observed = frame.drop(columns="age").notna().sum(axis=1)
    print(f"  {len(patterns):,} distinct evidence patterns among {n:,} rows; observed findings and tests per row: "
          f"median {observed.median():.0f} of {len(model.findings + model.tests)}, plus the age")
    picked = np.random.default_rng(11).choice(n, size=min(sample, n), replace=False)
    from omsbayes.settings import frame_with_settings

    with_setting = frame_with_settings(model.spec, frame)  # the references get each row's setting as evidence too
    evidence = {int(i): hard_evidence(model, with_setting.iloc[int(i)]) for i in picked}

    cold_model = omsbayes.load_model()
    _ = cold_model.tables
    kept = {}
    cold = timed(lambda: kept.setdefault("posteriors", cold_model.diagnose_batch(frame)))
    posteriors = kept["posteriors"]
    # the references on the sample, in slices interleaved with our runs (all meet the same load)
    slices = np.array_split(picked, max(3, repeat))
    pgmpy_times, agrum_times, ours, answers = [], [], [], {}
    for part in slices:
        for i in part:
            i = int(i)
            pgmpy_times.append(timed(lambda: answers.__setitem__(i, reference.query(evidence[i]))))  # noqa: B023
            agrum_times.append(timed(lambda: agrum.query(evidence[i])))  # noqa: B023
        ours.append(timed(lambda: model.diagnose_batch(frame)))

    def median(ts):
        return Timing(statistics.median(t.wall for t in ts), statistics.median(t.cpu for t in ts))

    per_pgmpy, per_agrum, warm = median(pgmpy_times), median(agrum_times), median(ours)
    worst = max(abs(posteriors.iloc[i][c] - answers[i][c][1]) for i in answers for c in answers[i])
    agrum_worst = max(abs(posteriors.iloc[i][c] - p[1]) for i in list(answers)[:50] for c, p in agrum.query(evidence[i]).items())
    print(f"  pgmpy on {len(picked)} sampled rows: median {fmt_time(per_pgmpy)} per case; pyAgrum {agrum.version} "
          f"LazyPropagation: {fmt_time(per_agrum)} per case")
    print(f"  agreement on the sampled rows: max |difference| {worst:.1e} with pgmpy, {agrum_worst:.1e} with pyAgrum (50 rows)")
    print(
        f"  model.diagnose_batch, warm: {fmt_time(warm)} = {fmt_time(warm / n)} per case "
        f"({per_pgmpy / (warm / n):,.0f}x pgmpy, {per_agrum / (warm / n):,.0f}x pyAgrum per case; CPU time "
        f"{per_pgmpy.cpu / (warm.cpu / n):,.0f}x and {per_agrum.cpu / (warm.cpu / n):,.0f}x)"
    )
    print(f"  first call on a fresh model (builds the one program; numba's compiled kernel read from its cache): {fmt_time(cold)}")
    universal = model.engine.universal()
    if universal is not None:
        print(
            f"  the one program: {universal.nq} conditions x {universal.n_outer} outer configurations "
            f"({', '.join(universal.outer) or 'none'}) = {universal.size:,} per row at most; "
            f"{len(universal.leaves)} leaves; {len(universal.upstream)} variables summed into the prior"
        )
    chunk = model.engine.cohort_chunk()
    print(f"  memory: rows run in chunks of {chunk:,} ({universal.per_row_bytes if universal else 0:,} bytes of state per row)")
    for budget in (model.engine.memory_budget, 8 * MiB):
        peak = peak_memory(lambda: model.diagnose_batch(frame, memory_budget=budget))  # noqa: B023
        print(f"    budget {budget / MiB:5.0f} MiB: peak traced memory {peak:6.1f} MiB for {n:,} rows "
              f"(the cohort frame itself: {frame.memory_usage(deep=True).sum() / MiB:.1f} MiB)")
    try:
        import resource

        print(f"    peak resident memory of this process so far: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    except ImportError:  # pragma: no cover - not on Windows
        pass
    report.add(f"registry cohort of {n:,}, random patterns: per case vs pgmpy", warm / n, per_pgmpy, "pgmpy, per case", ">= 1000x", per_pgmpy / (warm / n) >= 1000)
    report.add(f"registry cohort of {n:,}, random patterns: per case vs pyAgrum", warm / n, per_agrum, "pyAgrum, per case", ">= 500x", per_agrum / (warm / n) >= 500)


def diagnose_calls(model, reference: Pgmpy, report: Report, repeat: int) -> None:
    print("\n== 3. model.diagnose: warm on each public vignette, and on evidence patterns never seen before ==")
    rows = []
    for case in omsbayes.load_public_vignettes():
        ev = model.normalize(case.evidence, case.age_years)
        ours, ref = paired(lambda: model.diagnose(case.evidence, age=case.age_years), lambda: reference.query(ev.hard), 3 * repeat)  # noqa: B023
        rows.append((ours, ref))
    ratios = [r[1] / r[0] for r in rows]
    print(f"  warm: median {fmt_time(statistics.median(r[0] for r in rows))} per call, {statistics.median(ratios):.1f}x pgmpy "
          f"(lowest {min(ratios):.1f}x, {len(rows)} vignettes)")
    middle = sorted(rows, key=lambda r: r[1] / r[0])[len(rows) // 2]
    report.add("model.diagnose, warm (median vignette)", middle[0], middle[1], "pgmpy", ">= 10x", statistics.median(ratios) >= 10)
    # new patterns: each call observes its own random subset (never seen by the engine)
    frame = registry_cohort(model, 20 * repeat, np.random.default_rng(99))
    new, ref_new = [], []
    for _, row in frame.iterrows():
        evidence = {k: v for k, v in row.items() if k != "age" and v is not None and not pd.isna(v)}
        ev = model.normalize(evidence, float(row["age"]))
        new.append(timed(lambda: model.diagnose(evidence, age=float(row["age"]))))  # noqa: B023
        ref_new.append(timed(lambda: reference.query(ev.hard)))  # noqa: B023
    ours, ref = (Timing(statistics.median(t.wall for t in ts), statistics.median(t.cpu for t in ts)) for ts in (new, ref_new))
    print(f"  new patterns ({len(new)} calls, each its own ~10 findings and tests): median {fmt_time(ours)} per call, "
          f"{ref / ours:.1f}x pgmpy")
    report.add("model.diagnose, a new evidence pattern", ours, ref, "pgmpy", ">= 5x", ref / ours >= 5)
    fresh = omsbayes.load_model()
    _ = fresh.tables
    case = omsbayes.load_public_vignettes()[0]
    first = timed(lambda: fresh.diagnose(case.evidence, age=case.age_years))
    print(f"  first model.diagnose on a fresh model (builds its one program): {fmt_time(first)}")


def first_vignette(model):
    """The case of the uncertainty and sensitivity workloads: its evidence as likelihoods, and its queries."""
    case = omsbayes.load_public_vignettes()[0]
    ev = model.normalize(case.evidence, case.age_years)
    return case, ev, ev.likelihoods(model.state_map), [c for c in model.conditions if c not in ev.hard]


def uncertainty(model, reference: Pgmpy, report: Report, draws: int, repeat: int) -> None:
    case, ev, likelihoods, queries = first_vignette(model)
    print(f"\n== 5. Uncertainty: all posteriors over {draws:,} parameter draws, case {case.id} ==")
    twenty = lambda: [reference.query(ev.hard) for _ in range(20)]  # noqa: E731
    relevant = model.engine.network.ancestors(set(likelihoods) | set(queries))
    needed = [v for v in model.variables if v in relevant]
    # the parts are timed on all draws at once, so on a large model only on as many draws as fit in
    # PARTS_BYTES (model 2.0's tables take ~40 MiB a draw: 2,000 at once ran out of 24 GB); model.uncertainty
    # itself takes its draws in bounded chunks and is timed on every draw below
    per_draw = sum(model.tables[v].nbytes for v in needed)
    part_draws = int(min(draws, max(1, PARTS_BYTES // per_draw)))
    parameters = draw_parameters(model, part_draws, 0)
    tables = build_tables(model.spec, parameters, model.references, variables=needed)
    t_engine, ref = paired(lambda: model.engine.run(likelihoods, queries, tables=tables), twenty, repeat)
    t_draw = median_time(lambda: draw_parameters(model, part_draws, 0), repeat)
    t_build = median_time(lambda: build_tables(model.spec, parameters, model.references, variables=needed), repeat)
    print(
        f"  parts on {part_draws:,} draws at once ({per_draw / MiB:.1f} MiB of tables a draw): draw parameters "
        f"{fmt_time(t_draw)}, build the {len(needed)} tables needed {fmt_time(t_build)}, one batched engine run "
        f"{fmt_time(t_engine)} ({fmt_time(t_engine / part_draws)} per draw); 20 pgmpy queries {fmt_time(ref)}"
    )
    peak_engine = peak_memory(lambda: model.engine.run(likelihoods, queries, tables=tables))
    print(
        f"  peak traced memory of the engine run: {peak_engine:.1f} MiB (the tables of all draws: "
        f"{sum(t.nbytes for t in tables.values()) / MiB:.1f} MiB)"
    )
    report.add(f"uncertainty, {part_draws:,} draws: one engine run", t_engine, ref, "20 queries", "< 20 queries", t_engine.wall < ref.wall)
    if hasattr(model, "uncertainty"):
        call = lambda: model.uncertainty(case.evidence, age=case.age_years, draws=draws, rng=0, progress=False)  # noqa: E731
        public, ref = paired(call, twenty, repeat)
        peak = peak_memory(call)
        print(f"  model.uncertainty: {fmt_time(public)} = {20 * public / ref:.0f} pgmpy queries; peak traced memory {peak:.1f} MiB")
        report.add(f"uncertainty, {draws:,} draws: model.uncertainty", public, ref, "20 queries", "< 20 queries", public.wall < ref.wall)


def sensitivity(model, reference: Pgmpy, report: Report, repeat: int) -> None:
    case, ev, likelihoods, conditions = first_vignette(model)
    print(f"\n== 6. Full one-way sensitivity (every parameter, every condition), case {case.id} ==")
    ten = lambda: [reference.query(ev.hard) for _ in range(10)]  # noqa: E731

    def engine_work():
        # log P(e), then log P(c present, e) for every condition c as rows of one batch, with derivatives
        model.engine.run(likelihoods, [], gradients=True)
        rows = len(conditions)
        clamps = {c: np.ones((rows, 2)) for c in conditions}
        for r, c in enumerate(conditions):
            clamps[c][r, 0] = 0.0
        batch = {k: np.broadcast_to(v, (rows, len(v))) for k, v in likelihoods.items()}
        model.engine.run({**batch, **clamps}, [], gradients=True)

    t_engine, ref = paired(engine_work, ten, 3 * repeat)
    print(f"  engine work (two runs with derivatives, the second batched over the conditions): {fmt_time(t_engine)}; "
          f"10 pgmpy queries {fmt_time(ref)}")
    report.add("one-way sensitivity: engine work (2 runs)", t_engine, ref, "10 queries", "< 10 queries", t_engine.wall < ref.wall)
    if hasattr(model, "sensitivity"):
        call = lambda: model.sensitivity(case.evidence, age=case.age_years)  # noqa: E731
        warm, ref = paired(call, ten, 3 * repeat)

        def cold_call():
            model.engine.clear_cache()
            call()

        cold, ref_cold = paired(cold_call, ten, repeat)
        peak = peak_memory(call)
        print(
            f"  model.sensitivity: warm {fmt_time(warm)} = {10 * warm / ref:.1f} pgmpy queries; from a cold engine "
            f"{fmt_time(cold)} = {10 * cold / ref_cold:.1f} queries; peak traced memory {peak:.1f} MiB"
        )
        report.add("one-way sensitivity: model.sensitivity, warm", warm, ref, "10 queries", "< 10 queries", warm.wall < ref.wall)
        report.add("one-way sensitivity: model.sensitivity, cold", cold, ref_cold, "10 queries", "< 10 queries", cold.wall < ref_cold.wall)
        model.engine.clear_cache()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer cases and repeats (a smoke run)")
    parser.add_argument(
        "--only",
        metavar="NAMES",
        help=f"comma-separated workloads to run (default all): {', '.join(WORKLOADS)}",
    )
    args = parser.parse_args(argv)
    chosen = WORKLOADS if args.only is None else [w.strip() for w in args.only.split(",") if w.strip()]
    unknown = [w for w in chosen if w not in WORKLOADS]
    if unknown or not chosen:
        parser.error(f"--only takes workloads among {', '.join(WORKLOADS)}; got {args.only!r}")
    n, sample, draws, repeat = (2000, 40, 500, 2) if args.quick else (10_000, 200, 2000, 4)
    registry_n = 10_000 if args.quick else 100_000

    pgmpy = import_pgmpy()
    import numba
    import opt_einsum

    print("omsbayes benchmarks:", _dt.datetime.now().isoformat(timespec="minutes"))
    print(f"machine: {platform.machine()} {platform.processor() or ''}, {os.cpu_count()} cores, {platform.system()} "
          f"{platform.release()}; Python {platform.python_version()}")
    print(f"versions: omsbayes {omsbayes.__version__}, numpy {np.__version__}, opt_einsum {opt_einsum.__version__}, "
          f"pgmpy {pgmpy.__version__}, pandas {pd.__version__}")
    model = omsbayes.load_model()
    _ = model.tables
    print(f"model: {model!r}")
    engine = model.engine
    print(f"engine: up to {engine.threads} worker threads for large batches, BLAS held to {engine.blas_threads} thread(s); "
          f"chunks of at most {engine.chunk_rows} rows within {engine.memory_budget / MiB:.0f} MiB of intermediates")
    print(f"load average at start (other processes share these cores): {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    reference = Pgmpy(model)
    agrum = PyAgrum(model)
    print(f"references: pgmpy {pgmpy.__version__} VariableElimination, pyAgrum {agrum.version} LazyPropagation "
          f"(numba {numba.__version__} compiles omsbayes' kernel)")
    model.diagnose_batch(registry_cohort(model, 10, np.random.default_rng(0)))  # numba: load (or compile) the kernel once
    report = Report()
    start = time.perf_counter()
    runs = {
        "one_case": lambda: one_case(model, reference, report, repeat),
        "registry": lambda: registry(model, reference, agrum, report, registry_n, sample, repeat),
        "diagnose": lambda: diagnose_calls(model, reference, report, repeat),
        "cohort": lambda: cohort(model, reference, report, n, sample, repeat),
        "uncertainty": lambda: uncertainty(model, reference, report, draws, repeat),
        "sensitivity": lambda: sensitivity(model, reference, report, repeat),
    }
    for name in chosen:
        runs[name]()
    print(f"\nload average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"\n== Summary (ratios are pgmpy time / omsbayes time, measured in this run; total {fmt_time(time.perf_counter() - start)}) ==")
    report.print()
    print(
        "\nNotes: the registry cohort's rows each observe their own findings and tests, so nearly every row is a "
        "pattern of its own; pgmpy and pyAgrum are timed on a sample of its rows and scaled per case. "
        "The four-pattern cohort figure 'distinct rows once' computes each distinct evidence row of a pattern once and "
        "copies its answer to the rows that repeat it (exact; model.diagnose_batch does it by default, dedupe=False "
        "switches it off); 'every row computed' does not. It supersedes a joint table over the observed variables: "
        "it evaluates at most as many rows as such a table has entries. pgmpy per case is the median over the "
        "sampled cases; the ratios of the cohort are per case. Peak memory is traced in separate runs."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
