"""``python -m bench [--quick] [--db sqlite|postgresql|both] [--only api|worker|scale|memory]``

Measures Credira against baselines in the same run (for the API a bare Starlette app on the
same database stack and the floor, bare Starlette on the raw driver; pgqueuer for the worker),
writes the results to bench/results/<timestamp>.json and appends a section to bench/RESULTS.md.
See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import api, dbs, machine, report, worker

HERE = Path(__file__).resolve().parent
MODES: dict[str, dict[str, Any]] = {
    "quick": {
        # About 2 minutes on a 2-core host at half its usual speed (110 s there before the
        # floor's loads, which add about 12 s; 3 minutes at a load average of 10).
        "concurrency": 16,
        "warmup": 0.2,
        "duration": 0.8,
        "slices": 1,
        "paced_runs": 1,
        "scale": (10_000, 50_000),
        "scale_baseline": False,
        "worker_jobs": 6_000,
        "worker_window": 2.0,
        "noop_window": 1.0,
        "lateness_seconds": 1.0,
        "two_workers": False,
    },
    "full": {
        "concurrency": 16,
        "warmup": 2.0,
        "duration": 10.0,
        "slices": 4,  # interleaved: each server's 10 s figure in four turns of 2.5 s
        "paced_runs": 3,  # the paced GET: three runs each, the median p99's reported
        "scale": (10_000, 1_000_000),
        "scale_baseline": True,
        "worker_jobs": 50_000,
        "worker_window": 12.0,
        "noop_window": 12.0,
        "lateness_seconds": 10.0,
        "two_workers": True,
    },
}


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[1])
    parser.add_argument("--quick", action="store_true", help="short run (about 2 minutes)")
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument(
        "--only",
        choices=("api", "worker", "scale", "memory"),
        default=None,
        help="one part: api (with scale and memory, which need its server), worker",
    )
    parser.add_argument("--profile", action="store_true", help="also sample with py-spy")
    parser.add_argument("--concurrency", type=int, default=None)
    parser.add_argument("--duration", type=float, default=None)
    parser.add_argument("--no-append", action="store_true", help="do not append to RESULTS.md")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    mode = "quick" if args.quick else "full"
    cfg = dict(MODES[mode], mode=mode, profile=args.profile)
    if args.concurrency:
        cfg["concurrency"] = args.concurrency
    if args.duration:
        cfg["duration"] = args.duration
    parts = (
        {"api", "worker"} if args.only is None else {"worker" if args.only == "worker" else "api"}
    )
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    began = time.monotonic()

    def progress(message: str) -> None:
        print(f"[{time.monotonic() - began:6.1f}s] {message}", flush=True)

    why = dbs.postgres_available() if "postgresql" in kinds else None
    meta = machine.describe(dbs.ADMIN_URL if why is None and "postgresql" in kinds else None)
    results: dict[str, Any] = {"meta": meta, "config": cfg}
    logs = Path(tempfile.mkdtemp(prefix="credira-bench-logs-"))
    progress(f"mode {mode}, databases {kinds}, parts {sorted(parts)}; logs in {logs}")
    for kind in kinds:
        if kind == "postgresql" and why is not None:
            results[kind] = {"error": why}
            progress(why)
            continue
        results[kind] = {}
        try:
            if "api" in parts:
                with dbs.fresh_database(kind, "api") as db:
                    results[kind]["api"] = api.run(db, logs, cfg, progress=progress)
            if "worker" in parts:
                progress(f"{kind}: worker")
                with dbs.fresh_database(kind, "worker") as db:
                    results[kind]["worker"] = worker.run(
                        db,
                        logs,
                        jobs=cfg["worker_jobs"],
                        window=cfg["worker_window"],
                        lateness_seconds=cfg["lateness_seconds"],
                        peer=kind == "postgresql",
                        profile_seconds=5.0 if cfg["profile"] else 0.0,
                        two_workers=cfg["two_workers"],
                        noop_window=cfg["noop_window"],
                    )
        except Exception as exc:
            traceback.print_exc()
            results[kind]["error"] = f"{type(exc).__name__}: {exc}"[:500]
    results["seconds"] = time.monotonic() - began
    meta["load_average_end"] = os.getloadavg()

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = HERE / "results" / f"{stamp}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=1, default=str))
    progress(f"results: {out}")
    complete = all(
        "error" not in results[k] and {"api", "worker"} <= results[k].keys() for k in kinds
    )
    if complete:
        section = report.markdown(results)
        print(section)
        if not args.no_append:
            with (HERE / "RESULTS.md").open("a") as f:
                f.write("\n" + section)
            progress("appended to bench/RESULTS.md")
    else:
        if all("error" not in results[k] and "api" in results[k] for k in kinds):
            print(report.markdown(results))  # the API's figures, ratios and targets
        progress("partial run: JSON written, RESULTS.md left alone")
    return 0 if all("error" not in results[k] for k in kinds) else 1


if __name__ == "__main__":
    sys.exit(main())
