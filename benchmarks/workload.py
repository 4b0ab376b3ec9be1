"""The client workload: raw MLflow REST calls over keep-alive sessions, deterministic data.

Request bodies mirror what the ``mlflow`` 3 client sends (field names, batch splitting), but
are built in advance so that the client's own cost stays out of the figures. Every phase checks
the answers it gets (counts, order, versions), so a server cannot win by answering less.
"""

from __future__ import annotations

import json
import math
import random
import statistics
import threading
import time
import typing as t
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace

import requests

__all__ = ["FULL", "QUICK", "Sizes", "Workload", "expected_search"]

T0 = 1_700_000_000_000  # fixed epoch ms, so every run logs the same bytes
MAX_BATCH_ENTITIES = 1000  # MLflow's log-batch limit, split the way its client splits


@dataclass(frozen=True)
class Sizes:
    """How much work each phase does."""

    threads: int = 4
    ingest_runs: int = 100
    points_per_run: int = 1000
    metric_keys: int = 10
    params: int = 10
    tags: int = 10
    search_runs: int = 1000
    page_size: int = 100
    search_reps: int = 10
    search_all_reps: int = 5
    single_calls: int = 1000
    history_points: int = 10_000
    history_reps: int = 10
    lookup_reps: int = 100
    models: int = 30
    versions: int = 5

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


FULL = Sizes()
QUICK = replace(
    FULL, ingest_runs=10, search_runs=100, page_size=20, search_reps=3, search_all_reps=3,
    single_calls=200,
    history_points=1000, history_reps=5, lookup_reps=20, models=5, versions=3,
)

FILTER = "metrics.m0 > 0.5 and params.p0 = 'a'"
ORDER_BY = ["metrics.m1 DESC"]


class RequestFailed(Exception):
    """A request answered something other than 200."""


# --- deterministic data ------------------------------------------------------------------------


def run_points(index: int, steps: int, keys: int) -> list[dict[str, t.Any]]:
    """Metric points of run ``index``: ``steps`` steps of ``keys`` keys, step-major."""
    rng = random.Random(index)
    return [
        {"key": f"m{k}", "value": rng.random(), "timestamp": T0 + step * 1000, "step": step}
        for step in range(steps)
        for k in range(keys)
    ]


def run_params(index: int, count: int) -> list[dict[str, str]]:
    """``p0`` is one of a/b/c/d (the search filter picks ``a``); the rest vary a little."""
    values = ["abcd"[index % 4]] + [f"value-{k}-{index % 10}" for k in range(1, count)]
    return [{"key": f"p{k}", "value": values[k]} for k in range(count)]


def run_tags(index: int, count: int) -> list[dict[str, str]]:
    return [{"key": f"t{k}", "value": f"tag-{k}-{index % 5}"} for k in range(count)]


def search_run_steps(sizes: Sizes, index: int) -> int:
    """Ingest runs log ``points_per_run`` points; the other search runs one step per key."""
    if index < sizes.ingest_runs:
        return max(1, sizes.points_per_run // sizes.metric_keys)
    return 1


def expected_search(sizes: Sizes) -> list[int]:
    """Indexes of the runs :data:`FILTER` matches, in :data:`ORDER_BY` order."""
    matches = []
    for index in range(sizes.search_runs):
        latest: dict[str, float] = {}
        for point in run_points(index, search_run_steps(sizes, index), sizes.metric_keys):
            latest[point["key"]] = point["value"]
        if latest["m0"] > 0.5 and index % 4 == 0:
            matches.append((-latest["m1"], index))
    return [index for _, index in sorted(matches)]


def batch_bodies(
    params: list[dict[str, str]], tags: list[dict[str, str]], metrics: list[dict[str, t.Any]]
) -> list[bytes]:
    """log-batch bodies without ``run_id``: params and tags first, topped up with metrics to
    1000 entities, then the remaining metrics 1000 at a time (as the mlflow client splits)."""
    room = MAX_BATCH_ENTITIES - len(params) - len(tags)
    first: dict[str, t.Any] = {"metrics": metrics[:room], "params": params, "tags": tags}
    chunks = [first] + [
        {"metrics": metrics[i : i + MAX_BATCH_ENTITIES]}
        for i in range(room, len(metrics), MAX_BATCH_ENTITIES)
    ]
    return [json.dumps(chunk, separators=(",", ":"))[1:].encode() for chunk in chunks]


def with_run_id(run_id: str, tail: bytes) -> bytes:
    """Prefix a pre-encoded body tail (``"metrics":...}``) with ``{"run_id":"<id>",``."""
    return b'{"run_id":"' + run_id.encode() + b'",' + tail


# --- HTTP --------------------------------------------------------------------------------------


@dataclass
class Stats:
    """Latencies and failures of one kind of request."""

    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    first_error: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, seconds: float, error: str | None = None) -> None:
        with self.lock:
            if error is None:
                self.latencies.append(seconds)
            else:
                self.errors += 1
                self.first_error = self.first_error or error

    def summary(self) -> dict[str, t.Any]:
        values = sorted(self.latencies)
        out: dict[str, t.Any] = {"n": len(values), "errors": self.errors}
        if values:
            out["p50_ms"] = statistics.median(values) * 1000
            out["p95_ms"] = values[max(0, math.ceil(0.95 * len(values)) - 1)] * 1000
            out["mean_ms"] = statistics.fmean(values) * 1000
        if self.first_error:
            out["first_error"] = self.first_error
        return out


class Client:
    """One keep-alive ``requests.Session`` per thread against one tracking URI."""

    def __init__(self, tracking_uri: str, headers: dict[str, str]) -> None:
        self.base = tracking_uri.rstrip("/") + "/api/2.0/mlflow/"
        self.headers = {**headers, "Content-Type": "application/json"}
        self._local = threading.local()
        self._sessions: list[requests.Session] = []

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.headers.update(self.headers)
            self._local.session = session
            self._sessions.append(session)
        return session

    def call(
        self,
        stats: Stats,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        params: dict[str, t.Any] | None = None,
    ) -> dict[str, t.Any]:
        """Send one request, record its latency in ``stats``; the JSON answer, or raise."""
        session = self._session()
        started = time.perf_counter()
        try:
            response = session.request(method, self.base + path, data=body, params=params,
                                       timeout=300)
        except requests.RequestException as exc:
            stats.add(0.0, f"{path}: {type(exc).__name__}: {exc}")
            raise RequestFailed(path) from exc
        elapsed = time.perf_counter() - started
        if response.status_code != 200:
            stats.add(elapsed, f"{path}: {response.status_code} {response.text[:300]}")
            raise RequestFailed(f"{path}: {response.status_code}")
        stats.add(elapsed)
        return t.cast(dict[str, t.Any], response.json()) if response.content else {}

    def close(self) -> None:
        for session in self._sessions:
            session.close()


def _dump(payload: dict[str, t.Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


# --- the workload ------------------------------------------------------------------------------


class Workload:
    """All phases against one server; figures land in :attr:`figures`, details in
    :attr:`phases`."""

    def __init__(
        self, client: Client, sizes: Sizes, analyze: t.Callable[[], None] | None = None
    ) -> None:
        self.client = client
        self.sizes = sizes
        self.analyze = analyze
        self.figures: dict[str, float] = {}
        self.phases: dict[str, dict[str, t.Any]] = {}
        self.run_ids: dict[int, str] = {}
        self.aux_run_ids: list[str] = []
        self.search_experiment = ""
        self.aux_experiment = ""

    # -- driver --

    def run(self, progress: t.Callable[[str], None]) -> None:
        """Every phase in order; a failed phase is recorded and the next one still runs."""
        phases: list[tuple[str, t.Callable[[], None]]] = [
            ("setup", self.setup),
            ("ingest", self.ingest),
            ("fill", self.fill),
            ("analyze", self.refresh_statistics),
            ("single", self.single_log_metric),
            ("history", self.history),
            ("get_run", self.get_run),
            ("search_filter", self.search_filtered),
            ("search_all", self.search_all),
            ("registry_write", self.registry_write),
            ("analyze_registry", self.refresh_statistics),
            ("registry_read", self.registry_read),
        ]
        for name, phase in phases:
            progress(name)
            started = time.perf_counter()
            try:
                phase()
            except Exception as exc:
                self.phases.setdefault(name, {})["failed"] = f"{type(exc).__name__}: {exc}"
                progress(f"{name} FAILED: {exc}")
            self.phases.setdefault(name, {})["elapsed_s"] = time.perf_counter() - started

    def _pool(self, fn: t.Callable[[t.Any], t.Any], items: t.Iterable[t.Any]) -> list[t.Any]:
        with ThreadPoolExecutor(max_workers=self.sizes.threads) as pool:
            return list(pool.map(fn, items))

    def _record(self, phase: str, **stats: Stats) -> None:
        self.phases.setdefault(phase, {}).update({k: v.summary() for k, v in stats.items()})

    def _latency_figures(self, prefix: str, stats: Stats) -> None:
        summary = stats.summary()
        if "p50_ms" in summary:
            self.figures[f"{prefix}_p50_ms"] = summary["p50_ms"]
            self.figures[f"{prefix}_p95_ms"] = summary["p95_ms"]

    def _verify(self, phase: str, ok: bool, detail: str) -> None:
        """Count an answer that is not what the data implies (the first few are kept)."""
        if ok:
            return
        details = self.phases.setdefault(phase, {})
        details["wrong_answers"] = details.get("wrong_answers", 0) + 1
        examples = details.setdefault("wrong_examples", [])
        if len(examples) < 3:
            examples.append(detail)

    # -- phases --

    def refresh_statistics(self) -> None:
        """Let the database refresh its planner statistics (PostgreSQL ``ANALYZE``), so read
        phases see the plans autovacuum would leave rather than whatever its timing gives."""
        if self.analyze is not None:
            self.analyze()

    def _create_run(self, stats: Stats, experiment: str, index: int, name: str) -> str:
        tags = [
            {"key": "mlflow.user", "value": "bench"},
            {"key": "mlflow.source.name", "value": "bench.py"},
            {"key": "mlflow.source.type", "value": "LOCAL"},
            {"key": "mlflow.runName", "value": name},
        ]
        body = {
            "experiment_id": experiment, "user_id": "bench", "run_name": name,
            "start_time": T0 + index, "tags": tags,
        }
        answer = self.client.call(stats, "POST", "runs/create", body=_dump(body))
        return str(answer["run"]["info"]["run_id"])

    def setup(self) -> None:
        stats = Stats()
        for attr, name in (("search_experiment", "bench-search"), ("aux_experiment", "bench-aux")):
            answer = self.client.call(stats, "POST", "experiments/create",
                                      body=_dump({"name": name}))
            setattr(self, attr, str(answer["experiment_id"]))
        self._record("setup", requests=stats)

    def _search_run_batches(self, index: int) -> list[bytes]:
        s = self.sizes
        points = run_points(index, search_run_steps(s, index), s.metric_keys)
        return batch_bodies(run_params(index, s.params), run_tags(index, s.tags), points)

    def _log_runs(self, indexes: range, phase: str) -> tuple[float, Stats, Stats]:
        bodies = {i: self._search_run_batches(i) for i in indexes}  # built before timing
        create, batch = Stats(), Stats()

        def one(index: int) -> None:
            run_id = self._create_run(create, self.search_experiment, index, f"run-{index:05d}")
            self.run_ids[index] = run_id
            for tail in bodies[index]:
                self.client.call(batch, "POST", "runs/log-batch", body=with_run_id(run_id, tail))

        started = time.perf_counter()
        try:
            self._pool(one, indexes)
        finally:
            elapsed = time.perf_counter() - started
            self._record(phase, runs_create=create, log_batch=batch)
        return elapsed, create, batch

    def ingest(self) -> None:
        s = self.sizes
        indexes = range(min(s.ingest_runs, s.search_runs))
        elapsed, _, batch = self._log_runs(indexes, "ingest")
        points = len(indexes) * (s.points_per_run // s.metric_keys) * s.metric_keys
        self.figures["ingest_points_per_s"] = points / elapsed
        self._latency_figures("ingest_batch", batch)
        self.phases["ingest"].update(points=points, seconds=elapsed)

    def fill(self) -> None:
        s = self.sizes
        indexes = range(min(s.ingest_runs, s.search_runs), s.search_runs)
        elapsed, _, _ = self._log_runs(indexes, "fill")
        self.figures["fill_runs_per_s"] = len(indexes) / elapsed if elapsed else 0.0

    def single_log_metric(self) -> None:
        s = self.sizes
        create, log = Stats(), Stats()
        run_ids = [
            self._create_run(create, self.aux_experiment, i, f"loop-{i}")
            for i in range(s.threads)
        ]
        self.aux_run_ids.extend(run_ids)
        per_thread = s.single_calls // s.threads

        def loop(run_id: str) -> None:
            rng = random.Random(run_id)
            for step in range(per_thread):
                body = {"run_uuid": run_id, "key": "loss", "value": rng.random(),
                        "timestamp": T0 + step, "step": step, "run_id": run_id}
                self.client.call(log, "POST", "runs/log-metric", body=_dump(body))

        started = time.perf_counter()
        try:
            self._pool(loop, run_ids)
        finally:
            elapsed = time.perf_counter() - started
            self._record("single", log_metric=log)
        self.figures["single_calls_per_s"] = per_thread * s.threads / elapsed
        self._latency_figures("single", log)

    def history(self) -> None:
        s = self.sizes
        setup, get = Stats(), Stats()
        run_id = self._create_run(setup, self.aux_experiment, 10_000, "history")
        self.aux_run_ids.append(run_id)
        rng = random.Random(7)
        points = [
            {"key": "hist", "value": rng.random(), "timestamp": T0 + step, "step": step}
            for step in range(s.history_points)
        ]
        for tail in batch_bodies([], [], points):
            self.client.call(setup, "POST", "runs/log-batch", body=with_run_id(run_id, tail))
        query = {"run_uuid": run_id, "metric_key": "hist", "run_id": run_id,
                 "max_results": 25000}
        for _ in range(s.history_reps):
            answer = self.client.call(get, "GET", "metrics/get-history", params=query)
            got = len(answer.get("metrics", []))
            self._verify("history", got == s.history_points, f"{got} points")
        self._record("history", setup=setup, get_history=get)
        self._latency_figures("history", get)

    def get_run(self) -> None:
        s = self.sizes
        stats = Stats()
        indexes = sorted(self.run_ids)[: max(1, s.ingest_runs)]
        for rep in range(s.lookup_reps):
            run_id = self.run_ids[indexes[rep % len(indexes)]]
            answer = self.client.call(stats, "GET", "runs/get",
                                      params={"run_uuid": run_id, "run_id": run_id})
            data = answer["run"].get("data", {})
            ok = (answer["run"]["info"]["run_id"] == run_id
                  and len(data.get("params", [])) == s.params
                  and len(data.get("metrics", [])) == s.metric_keys)
            self._verify("get_run", ok, f"run {run_id}: {len(data.get('params', []))} params")
        self._record("get_run", runs_get=stats)
        self._latency_figures("get_run", stats)

    def _scan(self, stats: Stats, page: Stats, filter_string: str,
              order_by: list[str]) -> list[str]:
        """Fetch every page of one search; the run ids in answer order."""
        found: list[str] = []
        token: str | None = None
        started = time.perf_counter()
        while True:
            body: dict[str, t.Any] = {
                "experiment_ids": [self.search_experiment], "filter": filter_string,
                "run_view_type": "ACTIVE_ONLY", "max_results": self.sizes.page_size,
                "order_by": order_by,
            }
            if token:
                body["page_token"] = token
            answer = self.client.call(page, "POST", "runs/search", body=_dump(body))
            found.extend(run["info"]["run_id"] for run in answer.get("runs", []))
            token = answer.get("next_page_token")
            if not token:
                break
        stats.add(time.perf_counter() - started)
        return found

    def search_filtered(self) -> None:
        expected = [self.run_ids[i] for i in expected_search(self.sizes)]
        scans, pages = Stats(), Stats()
        for _ in range(self.sizes.search_reps):
            found = self._scan(scans, pages, FILTER, ORDER_BY)
            self._verify("search_filter", found == expected,
                         f"{len(found)} runs, expected {len(expected)} in order")
        self._record("search_filter", full_scan=scans, pages=pages)
        self.phases["search_filter"]["matches"] = len(expected)
        self._latency_figures("search_filter", scans)

    def search_all(self) -> None:
        scans, pages = Stats(), Stats()
        for _ in range(self.sizes.search_all_reps):
            found = self._scan(scans, pages, "", [])
            ok = len(found) == self.sizes.search_runs == len(set(found))
            self._verify("search_all", ok, f"{len(found)} runs ({len(set(found))} distinct)")
        self._record("search_all", full_scan=scans, pages=pages)
        self._latency_figures("search_all", scans)

    def registry_write(self) -> None:
        s = self.sizes
        run_id = self.aux_run_ids[-1]
        create, version, alias = Stats(), Stats(), Stats()

        def one(j: int) -> None:
            name = f"bench-model-{j:03d}"
            self.client.call(create, "POST", "registered-models/create",
                             body=_dump({"name": name}))
            for _ in range(s.versions):
                body = {"name": name, "source": f"runs:/{run_id}/model", "run_id": run_id}
                self.client.call(version, "POST", "model-versions/create", body=_dump(body))
            self.client.call(alias, "POST", "registered-models/alias", body=_dump(
                {"name": name, "alias": "champion", "version": str(s.versions)}))

        started = time.perf_counter()
        try:
            self._pool(one, range(s.models))
        finally:
            elapsed = time.perf_counter() - started
            self._record("registry_write", create_model=create, create_version=version,
                         set_alias=alias)
        self.figures["registry_models_per_s"] = s.models / elapsed

    def registry_read(self) -> None:
        s = self.sizes
        get, search, alias = Stats(), Stats(), Stats()
        for rep in range(s.lookup_reps):
            name = f"bench-model-{rep % s.models:03d}"
            answer = self.client.call(get, "GET", "registered-models/get", params={"name": name})
            self._verify("registry_read", answer["registered_model"]["name"] == name, name)
            answer = self.client.call(search, "GET", "model-versions/search",
                                      params={"filter": f"name='{name}'", "max_results": 10000})
            got = len(answer.get("model_versions", []))
            self._verify("registry_read", got == s.versions, f"{name}: {got} versions")
            answer = self.client.call(alias, "GET", "registered-models/alias",
                                      params={"name": name, "alias": "champion"})
            got_version = answer["model_version"]["version"]
            self._verify("registry_read", got_version == str(s.versions),
                         f"{name}@champion = {got_version}")
        self._record("registry_read", get_model=get, search_versions=search, get_alias=alias)
        self._latency_figures("get_model", get)
        self._latency_figures("search_versions", search)
        self._latency_figures("get_alias", alias)
