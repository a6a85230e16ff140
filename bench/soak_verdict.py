"""The soak's verdict: errors in logs, the memory trend, the checks and the markdown section."""

from __future__ import annotations

import argparse
import json
import signal
from collections import Counter
from pathlib import Path
from typing import Any


def log_errors(path: Path) -> dict[str, Any]:
    """Error-level lines (structured logs are JSON here) and tracebacks a process wrote."""
    errors: Counter[str] = Counter()
    warnings: Counter[str] = Counter()
    for line in path.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            level = entry.get("level")
            if level in ("error", "critical") or "exception" in entry:
                errors[str(entry.get("event"))] += 1
            elif level == "warning":
                warnings[str(entry.get("event"))] += 1
        elif line.startswith(("Traceback", "ERROR:", "CRITICAL:")):
            errors[line[:120]] += 1
    return {"errors": dict(errors), "warnings": dict(warnings)}


# -- memory -------------------------------------------------------------------------------------


def trend(points: list[tuple[float, float]], since: float, until: float) -> dict[str, Any]:
    """Least-squares line through the RSS samples taken from ``since`` to ``until`` (seconds
    into the load): its slope, and the growth it implies over that span."""
    window = [(t, mb) for t, mb in points if since <= t <= until]
    if len(window) < 3:
        return {"samples": len(window), "error": "fewer than 3 samples after the warm-up"}
    n = len(window)
    mean_t = sum(t for t, _ in window) / n
    mean_mb = sum(mb for _, mb in window) / n
    var = sum((t - mean_t) ** 2 for t, _ in window)
    slope = sum((t - mean_t) * (mb - mean_mb) for t, mb in window) / var  # MB per second
    span = window[-1][0] - window[0][0]
    return {
        "samples": n,
        "at_warmup_end_mb": window[0][1],
        "at_end_mb": window[-1][1],
        "min_mb": min(mb for _, mb in window),
        "max_mb": max(mb for _, mb in window),
        "span_minutes": span / 60,
        "slope_mb_per_min": slope * 60,
        "fitted_growth_mb": slope * span,
    }


def judge(
    http: dict[str, Any], work: dict[str, Any], procs: dict[str, Any], args: argparse.Namespace
) -> list[dict[str, Any]]:
    status = {int(k): v for k, v in http.get("status", {}).items()}
    non_2xx = sum(v for k, v in status.items() if not 200 <= k < 300)
    transport = int(http["errors"]) - non_2xx
    checks = [
        {
            "check": "HTTP errors (any 5xx or 4xx, connection errors, requests dropped)",
            "ok": http["errors"] == 0,
            "detail": f"5xx {sum(v for k, v in status.items() if k >= 500)}, "
            f"4xx {sum(v for k, v in status.items() if 400 <= k < 500)}, "
            f"connection or dropped {transport}"
            + (f"; first: {http['error_sample']}" if http.get("error_sample") else ""),
        }
    ]
    logged = {name: sum(p["errors"].values()) for name, p in procs.items()}
    checks.append(
        {
            "check": "errors logged (error level, tracebacks)",
            "ok": not any(logged.values()),
            "detail": ", ".join(f"{n} {c}" for n, c in logged.items())
            + "".join(f"; {n}: {p['errors']}" for n, p in procs.items() if p["errors"]),
        }
    )
    # uvicorn re-raises the SIGTERM it handled once it has shut down, so `serve` ends by it.
    clean = (0, -signal.SIGTERM)
    bad_exit = {
        n: p["exit_status"]
        for n, p in procs.items()
        if p["died_during_run"] or p["exit_status"] not in clean
    }
    checks.append(
        {
            "check": "processes ran to the end and stopped cleanly on SIGTERM",
            "ok": not bad_exit,
            "detail": f"exit status {bad_exit}"
            if bad_exit
            else ", ".join(f"{n} {p['exit_status']}" for n, p in procs.items()),
        }
    )
    callouts, emails = work["callouts"], work["emails"]
    failed = callouts.get("failed", 0) + emails.get("failed", 0) + emails.get("bounced", 0)
    sent = emails.get("sent", 0) + emails.get("delivered", 0)
    checks.append(
        {
            "check": "worker: nothing failed, nothing left behind, every email received once",
            "ok": failed == 0
            and work["backlog"] == 0
            and sent == work["smtp_received"]
            and work["smtp_duplicates"] == 0,
            "detail": f"callouts {callouts}, calls {work['calls']}, emails {emails}; "
            f"SMTP received {work['smtp_received']} ({work['smtp_duplicates']} duplicates); "
            f"backlog {work['backlog']} after {work['drain_seconds']:.0f} s"
            + (f"; held {work['held']}" if work["held"] else ""),
        }
    )
    for name, p in procs.items():
        m = p["memory"]
        ok = "error" not in m and m["fitted_growth_mb"] < args.max_growth_mb
        detail = m.get("error") or (
            f"{m['at_warmup_end_mb']:.1f} MB at warm-up end, {m['at_end_mb']:.1f} MB at end; "
            f"slope {m['slope_mb_per_min']:+.2f} MB/min, fitted growth "
            f"{m['fitted_growth_mb']:+.1f} MB over {m['span_minutes']:.1f} min "
            f"(limit {args.max_growth_mb:g} MB)"
        )
        if seen := m.get("threads_after_warmup"):
            # A step with more threads is the database pool opening connections (SQLite's
            # connections each have a thread and their own page cache).
            detail += f"; threads {seen[0]}" + (f" to {seen[-1]}" if seen[-1] != seen[0] else "")
        checks.append({"check": f"memory flat: {name}", "ok": ok, "detail": detail})
    return checks


def markdown(r: dict[str, Any]) -> str:
    meta, cfg, http = r["meta"], r["config"], r["http"]
    verdict = "PASS" if r["passed"] else "**FAIL**"
    dirty = " (uncommitted changes)" if meta["dirty"] else ""
    la0 = "/".join(f"{x:.1f}" for x in meta["load_average_start"])
    la1 = "/".join(f"{x:.1f}" for x in meta["load_average_end"])
    topology = {
        "embedded": "`credira serve` with its embedded worker",
        "separate": "`credira serve` (no embedded worker) and one `credira worker`",
        "both": "`credira serve` with its embedded worker and one `credira worker`",
    }[cfg["worker"]]
    lines = [
        f"## Soak {meta['date']} · {r['db']} · {cfg['minutes']:g} min · commit "
        f"{meta['commit']}{dirty} · {verdict}",
        "",
        f"- Machine: {meta['cpu']}, {meta['cores']} cores; load average at start {la0}, "
        f"at end {la1}",
        f"- Python {meta['python']}; SQLite {meta['sqlite']}"
        + (f"; PostgreSQL {meta['postgresql']}" if meta.get("postgresql") else ""),
        f"- {topology}; simulator time scale {cfg['simulator_time_scale']}; SMTP to aiosmtpd; "
        f"{cfg['rate']:g} req/s open loop over {cfg['concurrency']} connections; RSS every "
        f"{cfg['sample_seconds']:g} s, warm-up {cfg['warmup_minutes']:g} min; took "
        f"{r['seconds']:.0f} s",
        f"- Requests: {http.get('requests', 0):,}, p50 {http.get('p50_ms', float('nan')):.1f} "
        f"ms, p99 {http.get('p99_ms', float('nan')):.1f} ms (from each request's due time)",
        "",
        "| request | replies by status |",
        "|---|---|",
    ]
    for kind, counts in http.get("by_kind", {}).items():
        cells = ", ".join(f"{k}: {v:,}" for k, v in sorted(counts.items()))
        lines.append(f"| `{kind}` | {cells} |")
    lines += ["", "| check | result | detail |", "|---|---|---|"]
    for c in r["checks"]:
        mark = "pass" if c["ok"] else "**FAIL**"
        lines.append(f"| {c['check']} | {mark} | {c['detail'].replace('|', '/')} |")
    completed = r["work"]["callouts"].get("completed", 0)
    lines += ["", f"Callouts completed by the worker: {completed:,}.", ""]
    return "\n".join(lines)
