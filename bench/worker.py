# ruff: noqa: S603  (runs our own processes: python, credira, py-spy, git)
"""Worker figures: claims per second with the simulator at (near) zero latency, lateness
(claimed - scheduled_time) under capacity, the no-op comparison, and the peer queue."""

from __future__ import annotations

import json
import signal
import statistics
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil

from bench import profile, seed
from bench.dbs import Database
from bench.loadgen import percentile
from bench.probe import Probe
from bench.servers import PYTHON, ROOT, environment
from credira.callout.state import CalloutStatus

# The simulator's timeline multiplied by this: an answered call lasts about 2 ms.
TIME_SCALE = "0.001"


def _start_worker(
    db: Database, logs: Path, name: str, out: Path, *, noop: bool
) -> subprocess.Popen[bytes]:
    env = environment(db, CREDIRA_SIMULATOR_TIME_SCALE=TIME_SCALE)
    args = [PYTHON, "-m", "bench.worker_proc", "--out", str(out)] + (["--noop"] if noop else [])
    with (logs / f"{name}.log").open("wb") as log:
        process = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    return process


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _seed_callouts(
    db: Database, tenant: seed.Tenant, times: list[datetime], zone: str, start: int
) -> dict[str, datetime]:
    """One invoice and one callout per time in ``times``; returns id -> scheduled_time."""
    invoices: list[dict[str, Any]] = []
    callouts: list[dict[str, Any]] = []
    for i, when in enumerate(times):
        invoice = seed.invoice_row(tenant.account_id, start + i, zone)
        invoices.append(invoice)
        callouts.append(
            seed.callout_row(
                invoice, tenant.agent_id, status=CalloutStatus.SCHEDULED, scheduled=when
            )
        )
    pairs = [
        (inv, cal)
        for inv, cal in zip(
            seed.chunks(invoices, seed.BATCH), seed.chunks(callouts, seed.BATCH), strict=True
        )
    ]
    seed.write_invoices_callouts(db, pairs)
    return {c["id"]: c["scheduled_time"] for c in callouts}


def _wait_done(probe: Probe, within: float, worker: subprocess.Popen[bytes]) -> float:
    """Wait until no callout is scheduled or active; returns when that was seen (epoch s)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if probe.pending_callouts() == 0:
            return time.time()
        if worker.poll() is not None:
            raise RuntimeError(f"the worker exited with {worker.returncode}; see its log")
        time.sleep(0.1)
    raise RuntimeError(f"the worker left {probe.pending_callouts()} callouts after {within}s")


def _claimed(probe: Probe) -> int:
    return int(probe.value("SELECT count(*) FROM callouts WHERE status <> 'scheduled'"))


def _finished(probe: Probe) -> int:
    return int(probe.value("SELECT count(*) FROM callouts WHERE status IN ('completed', 'failed')"))


CONCURRENCY = 100  # the worker's default (CREDIRA_WORKER_CONCURRENCY)
LEAD_SECONDS = 2.0  # from writing the paced callouts to the first one's scheduled time
NOOP_PER_S = 15_000  # more no-op runs a second than a worker was seen to finish


def _cpu_seconds(workers: list[subprocess.Popen[bytes]]) -> float:
    """User and system CPU time of the worker processes and of their classifier processes."""
    total = 0.0
    for worker in workers:
        process = psutil.Process(worker.pid)
        for each in [process, *process.children(recursive=True)]:
            try:
                times = each.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.user + times.system
    return total


def _window(
    probe: Probe,
    before: int,
    window: float,
    worker: subprocess.Popen[bytes],
    *,
    others: tuple[subprocess.Popen[bytes], ...] = (),
) -> dict[str, Any]:
    """Sustained throughput with plenty of due work. A worker fills its free slots at once (a
    burst of up to its concurrency), then claims one callout each time one finishes: at steady
    state it claims exactly as fast as it finishes. So: wait for the first claim, then for the
    first wave (as many finished as it has slots, or at most ``2 * window`` s), then count the
    callouts finished over ``window`` s, and the CPU time the worker processes spent meanwhile.
    Then the callouts not yet claimed are handed back (cancelled) and the running ones finish.
    ``others``: more worker processes working the same queue."""
    workers = [worker, *others]
    slots = CONCURRENCY * len(workers)
    deadline = time.monotonic() + 60
    while _claimed(probe) == before:
        if any(w.poll() is not None for w in workers) or time.monotonic() > deadline:
            raise RuntimeError("the worker claimed nothing; see its log")
        time.sleep(0.02)
    first = time.monotonic()
    base = _finished(probe)
    while _finished(probe) - base < slots and time.monotonic() < first + 2 * window:
        time.sleep(0.05)
    done_a, claimed_a, t_a = _finished(probe), _claimed(probe), time.monotonic()
    epoch_a = time.time()
    cpu_a = _cpu_seconds(workers)
    steady = done_a - base >= slots
    if steady:
        time.sleep(window)
    done_b, claimed_b, t_b = _finished(probe), _claimed(probe), time.monotonic()
    epoch_b = time.time()
    cpu = _cpu_seconds(workers) - cpu_a
    left = int(probe.value("SELECT count(*) FROM callouts WHERE status = 'scheduled'"))
    probe.execute("UPDATE callouts SET status = 'cancelled' WHERE status = 'scheduled'")
    for w in workers:
        _wait_done(probe, within=300, worker=w)
    if left <= 0:
        raise RuntimeError("the seeded callouts ran out inside the window: seed more")
    if not steady:  # the first wave did not even finish: the rate since the first claim
        return {
            "finished_per_s": (done_b - base) / (t_b - first),
            "claimed_per_s": (claimed_b - before) / (t_b - first),
            "steady": False,
            "first_wave_seconds": t_b - first,
            "cpu_ms_per_callout": float("nan"),
        }
    return {
        "finished_per_s": (done_b - done_a) / (t_b - t_a),
        "claimed_per_s": (claimed_b - claimed_a) / (t_b - t_a),
        "steady": True,
        "first_wave_seconds": t_a - first,
        # CPU time of the worker processes per callout finished: steadier than the rate on a
        # shared machine, and what the rate is mostly made of.
        "cpu_ms_per_callout": 1000 * cpu / max(1, done_b - done_a),
        "worker_cpu_share": cpu / (t_b - t_a),
        "window_epoch": (epoch_a, epoch_b),
    }


def _claims(data: dict[str, Any]) -> tuple[dict[str, float], int]:
    return dict(zip(data["ids"], data["claimed"], strict=True)), int(data.get("statements", 0))


def stages(data: dict[str, Any], window: tuple[float, float] | None) -> dict[str, float] | None:
    """Where the time of the runs that ended inside ``window`` (epoch seconds) went: means in
    ms per run, and per deciding and concluding transaction with their mean sizes (``data``:
    what the worker process wrote)."""
    if window is None:
        return None
    start, end = window
    inside = [r for r in data.get("runs", []) if start <= r[0] <= end]
    if not inside:
        return None
    result = {
        "runs": float(len(inside)),
        "total_ms": 1000 * statistics.fmean(r[1] for r in inside),
        "dial_ms": 1000 * statistics.fmean(r[2] for r in inside),
        "analyse_ms": 1000 * statistics.fmean(r[3] for r in inside),
    }
    result["decide_conclude_ms"] = result["total_ms"] - result["dial_ms"] - result["analyse_ms"]
    for name, rows in data.get("batches", {}).items():
        rows = [b for b in rows if start <= b[0] <= end]
        if rows:
            result[f"{name}_batch_size"] = statistics.fmean(b[1] for b in rows)
            result[f"{name}_batch_ms"] = 1000 * statistics.fmean(b[2] for b in rows)
    return result


def steady_rate(stamps: list[float]) -> float:
    """Jobs per second at steady state, from each job's dispatch time: those in the last three
    quarters of the span from the first to the last (as for Credira's window)."""
    if len(stamps) < 2:
        return float("nan")
    stamps = sorted(stamps)
    span = stamps[-1] - stamps[0]
    start, end = stamps[0] + 0.25 * span, stamps[-1]
    inside = sum(1 for t in stamps if start <= t <= end)
    return inside / (end - start) if end > start else float("nan")


def run(
    db: Database,
    logs: Path,
    *,
    jobs: int,
    window: float,
    lateness_seconds: float,
    peer: bool,
    profile_seconds: float = 0.0,
    two_workers: bool = True,
    noop_window: float | None = None,
) -> dict[str, Any]:
    """``jobs`` callouts due at once (more than the worker can claim in ``window`` seconds);
    claims/s is counted over the window from the first claim (over ``noop_window`` for the
    no-op runs, ``window`` unless given: at thousands a second, a short one says enough)."""
    noop_window = noop_window or window
    tenant = seed.create_tenant(db)
    zone = seed.zone_in_calling_hours()
    probe = Probe(db)
    result: dict[str, Any] = {
        "time_scale": float(TIME_SCALE),
        "jobs": jobs,
        "window": window,
        "zone": zone,
    }
    try:
        # 1. Throughput with full callout runs, the worker's default settings.
        _seed_callouts(db, tenant, [datetime.now(UTC) - timedelta(seconds=1)] * jobs, zone, 0)
        out = logs / f"claims-{db.kind}.json"
        worker = _start_worker(db, logs, f"worker-{db.kind}", out, noop=False)
        try:
            sustained = _window(probe, 0, window, worker)
            # 2. Lateness under capacity: callouts due at a steady pace, half the throughput.
            rate = max(5.0, min(0.5 * sustained["finished_per_s"], 1000.0))
            count = max(10, int(rate * lateness_seconds))
            # The first is due a little after the rows are written (or the lateness would
            # count the time the bench took to write them).
            begin = datetime.now(UTC) + timedelta(seconds=LEAD_SECONDS)
            times = [begin + timedelta(seconds=i / rate) for i in range(count)]
            paced = _seed_callouts(db, tenant, times, zone, jobs)
            seeded_at = datetime.now(UTC)
            if seeded_at > begin:
                raise RuntimeError(
                    f"writing the paced callouts took over {LEAD_SECONDS} s: they were late "
                    "before the worker could see them"
                )
            result["lateness_lead_s"] = (begin - seeded_at).total_seconds()
            _wait_done(probe, within=lateness_seconds + 60, worker=worker)
        finally:
            _stop(worker)
        written = json.loads(out.read_text())
        claims, statements = _claims(written)
        result["statements_per_callout"] = statements / max(1, len(claims))
        # Which statements those were, per callout, the most frequent first.
        shapes = sorted(written.get("by_statement", {}).items(), key=lambda kv: -kv[1])
        result["statements_by_shape"] = {
            shape: round(n / max(1, len(claims)), 3) for shape, n in shapes[:25]
        }
        result["stages"] = stages(written, sustained.get("window_epoch"))
        result["claims_per_s"] = sustained["finished_per_s"]
        result["cpu_ms_per_callout"] = sustained["cpu_ms_per_callout"]
        result["worker_cpu_share"] = sustained.get("worker_cpu_share", float("nan"))
        result["claims_per_s_in_window"] = sustained["claimed_per_s"]
        result["steady"] = sustained["steady"]
        result["first_wave_seconds"] = sustained["first_wave_seconds"]
        # (when each paced callout was due, seconds after the first; how late it was claimed)
        due_late = [
            (when.timestamp() - begin.timestamp(), claims[i] - when.timestamp())
            for i, when in paced.items()
            if i in claims
        ]
        late = sorted(lateness for _, lateness in due_late)
        result["lateness"] = {
            "rate_per_s": rate,
            "callouts": count,
            "claimed": len(late),
            "p50_s": percentile(late, 0.5),
            "p99_s": percentile(late, 0.99),
            "max_s": late[-1] if late else float("nan"),
            # The latest 1 %, with when each was due: a slow tail shows where in the phase.
            "worst": [
                (round(due, 3), round(lateness, 3))
                for due, lateness in sorted(due_late, key=lambda pair: -pair[1])
            ][: max(1, len(late) // 100)],
        }
        result["failed_callouts"] = int(
            probe.value("SELECT count(*) FROM callouts WHERE status = 'failed'")
        )

        # 3. The same claims with a no-op run per callout (like the peer's no-op jobs): many
        # more of them, as they go by at thousands a second.
        noop_jobs = max(jobs, int(NOOP_PER_S * (noop_window + 2)))
        _seed_callouts(
            db, tenant, [datetime.now(UTC) - timedelta(seconds=1)] * noop_jobs, zone, jobs + count
        )
        out = logs / f"claims-noop-{db.kind}.json"
        worker = _start_worker(db, logs, f"worker-noop-{db.kind}", out, noop=True)
        try:
            noop = _window(probe, _claimed(probe), noop_window, worker)
        finally:
            _stop(worker)
        result["noop_claims_per_s"] = noop["finished_per_s"]

        start = jobs + count + noop_jobs
        if two_workers and db.kind == "postgresql":
            # 4. Two worker processes on one PostgreSQL database (one per core here): how far
            # the same full runs scale out.
            _seed_callouts(
                db,
                tenant,
                [datetime.now(UTC) - timedelta(seconds=1)] * jobs,
                zone,
                start,
            )
            pair = [
                _start_worker(
                    db, logs, f"worker-pair{i}-{db.kind}", logs / f"pair{i}.json", noop=False
                )
                for i in (1, 2)
            ]
            try:
                two = _window(probe, _claimed(probe), window, pair[0], others=(pair[1],))
            finally:
                for process in pair:
                    _stop(process)
            result["two_workers"] = {
                "claims_per_s": two["finished_per_s"],
                "cpu_ms_per_callout": two["cpu_ms_per_callout"],
            }

        if peer:
            result["peer"] = _peer(db, jobs // 2)
        if profile_seconds:
            result["profile"] = _profile(db, tenant, zone, logs, jobs, profile_seconds, probe)
    finally:
        probe.close()
    return result


def _profile(
    db: Database,
    tenant: seed.Tenant,
    zone: str,
    logs: Path,
    jobs: int,
    seconds: float,
    probe: Probe,
) -> dict[str, Any]:
    """A separate run with py-spy attached, so that the measured runs stay unprofiled."""
    _seed_callouts(db, tenant, [datetime.now(UTC)] * jobs, zone, 10_000_000)
    out = logs / f"claims-profile-{db.kind}.json"
    path = logs / f"profile-{db.kind}-worker.txt"
    worker = _start_worker(db, logs, f"worker-profile-{db.kind}", out, noop=False)
    try:
        time.sleep(1.5)
        sampler = profile.record(worker.pid, seconds, path)
        if sampler is None:
            return {"error": "py-spy not installed"}
        sampler.wait(timeout=seconds + 30)
    finally:
        _stop(worker)
        probe.execute(
            "UPDATE callouts SET status = 'cancelled' WHERE status IN ('scheduled', 'active')"
        )
    return profile.digest(path) if path.exists() else {"error": "no samples"}


def _peer(db: Database, jobs: int) -> dict[str, Any]:
    done = subprocess.run(
        [PYTHON, "-m", "bench.peer_pgqueuer", db.plain_url, str(jobs)],
        capture_output=True,
        check=True,
        cwd=ROOT,
        env=environment(db),
        timeout=300,
    )
    data = json.loads(done.stdout)
    return {
        "name": "pgqueuer",
        "version": _version("pgqueuer"),
        "batch_size": data["batch_size"],
        "jobs": data["jobs"],
        "claims_per_s": steady_rate(data["dispatched"]),
        "drain_seconds": data["ended"] - data["started"],
    }


def _version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "?"
