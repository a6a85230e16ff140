"""Turning one run's results into the section appended to bench/RESULTS.md."""

from __future__ import annotations

import math
from typing import Any

from bench.api import ENDPOINTS, LABELS


def _n(value: Any, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:,.{digits}f}"


def _runs(paced: dict[str, Any]) -> str:
    """ ", the median of N runs: a, b, c" when the paced figure is one of several runs."""
    runs = paced.get("p99_runs_ms") or []
    if len(runs) < 2:
        return ""
    return f" (the median of {len(runs)} runs' p99: " + ", ".join(_n(r, 1) for r in runs) + ")"


def _ratio(a: Any, b: Any) -> float | None:
    try:
        return float(a) / float(b) if b else None
    except (TypeError, ValueError):
        return None


def _mark(ok: bool | None) -> str:
    return "-" if ok is None else ("met" if ok else "**missed**")


def _against(c: dict[str, Any], b: dict[str, Any]) -> dict[str, float | None]:
    return {
        "rps": _ratio(c["rps"], b["rps"]),
        "p50": _ratio(c["p50_ms"], b["p50_ms"]),
        "p99": _ratio(c["p99_ms"], b["p99_ms"]),
        "mean": _ratio(c.get("mean_ms", float("nan")), b.get("mean_ms", float("nan"))),
    }


def ratios(db: dict[str, Any]) -> dict[str, Any]:
    """credira / floor (when the run has it) and credira / baseline per endpoint (at the small
    size), large / small per endpoint."""
    figures = db["api"]["figures"]
    small, large = sorted(figures, key=int)
    out: dict[str, Any] = {"framework": {}, "scale": {}}
    if "floor" in figures[small]:
        out["floor"] = {}
    for ep in ENDPOINTS:
        c, b = figures[small]["credira"][ep], figures[small]["baseline"][ep]
        out["framework"][ep] = _against(c, b)
        if "floor" in out:
            out["floor"][ep] = _against(c, figures[small]["floor"][ep])
        big = figures[large]["credira"][ep]
        out["scale"][ep] = {
            "cost": _ratio(c["rps"], big["rps"]),  # > 1: the large database is slower
            "p50": _ratio(big["p50_ms"], c["p50_ms"]),
        }
        if "baseline" in figures[large]:
            out["scale"][ep]["baseline_cost"] = _ratio(
                b["rps"], figures[large]["baseline"][ep]["rps"]
            )
        if "floor" in figures[large]:
            out["scale"][ep]["floor_cost"] = _ratio(
                figures[small]["floor"][ep]["rps"], figures[large]["floor"][ep]["rps"]
            )
    return out


def targets(results: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(target, sqlite, postgresql, note) rows."""
    rows: list[tuple[str, str, str, str]] = []
    dbs = [k for k in ("sqlite", "postgresql") if k in results]

    def cell(kind: str, fn: Any) -> str:
        if kind not in results or "error" in results[kind]:
            return "-"
        try:
            return str(fn(results[kind]))
        except (KeyError, TypeError):
            return "-"

    def framework(d: dict[str, Any]) -> str:
        r = ratios(d)["framework"]
        worst_rps = min(v["rps"] for v in r.values())
        worst_lat = max(v["p50"] for v in r.values())
        ok = worst_rps >= 0.5 and worst_lat <= 2.0
        return f"{_mark(ok)} (worst req/s ratio {worst_rps:.2f}, worst p50 ratio {worst_lat:.2f})"

    def floor(d: dict[str, Any], endpoints: tuple[str, ...], least: float) -> str:
        r = ratios(d)["floor"]
        worst = min(r[ep]["rps"] for ep in endpoints)
        each = ", ".join(f"{ep.upper()} {r[ep]['rps']:.2f}" for ep in endpoints)
        return f"{_mark(worst >= least)} ({each})"

    def paced(d: dict[str, Any]) -> str:
        p = d["api"]["paced"]
        return f"{_mark(p['p99_ms'] < 25)} ({p['p99_ms']:.1f} ms at {p['rate']:.0f}/s)"

    def claims(d: dict[str, Any], floor: float) -> str:
        w = d["worker"]
        return (
            f"{_mark(w['claims_per_s'] >= floor)} ({w['claims_per_s']:.0f}/s full runs; "
            f"no-op runs {w['noop_claims_per_s']:,.0f}/s)"
        )

    def lateness(d: dict[str, Any], limit: float) -> str:
        p99 = d["worker"]["lateness"]["p99_s"]
        return f"{_mark(p99 < limit)} ({p99 * 1000:.0f} ms)"

    def peer(d: dict[str, Any]) -> str:
        w = d["worker"]
        if "peer" not in w:
            return "-"
        r = w["claims_per_s"] / w["peer"]["claims_per_s"]
        noop = w["noop_claims_per_s"] / w["peer"]["claims_per_s"]
        return (
            f"full runs {_mark(r >= 1)} ({r:.2f}x pgqueuer); "
            f"no-op runs {_mark(noop >= 1)} ({noop:.2f}x)"
        )

    def scale(d: dict[str, Any]) -> str:
        r = ratios(d)["scale"]
        worst = max(v["cost"] for v in r.values())
        return f"{_mark(worst <= 1.5)} (worst cost ratio {worst:.2f})"

    def idle(d: dict[str, Any]) -> str:
        mb = d["api"]["memory"]["idle"]["rss_mb"]
        return f"{_mark(mb < 150)} ({mb:.0f} MB)"

    rows.append(
        (
            "GET by id and list req/s >= 0.25x the floor's",
            cell("sqlite", lambda d: floor(d, ("get", "list"), 0.25)),
            cell("postgresql", lambda d: floor(d, ("get", "list"), 0.25)),
            "",
        )
    )
    rows.append(
        (
            "PUT and POST req/s >= 0.15x the floor's",
            cell("sqlite", lambda d: floor(d, ("put", "post"), 0.15)),
            cell("postgresql", lambda d: floor(d, ("put", "post"), 0.15)),
            "",
        )
    )
    rows.append(
        (
            "API req/s >= 0.5x baseline, p50 <= 2x",
            cell("sqlite", framework),
            cell("postgresql", framework),
            "",
        )
    )
    rows.append(
        (
            "GET /v1/callouts/{id} p99 < 25 ms at 70 % of peak",
            cell("sqlite", paced),
            cell("postgresql", paced),
            "",
        )
    )
    rows.append(
        (
            "claims/s >= 500 (SQLite) / 2,000 (PostgreSQL)",
            cell("sqlite", lambda d: claims(d, 500)),
            cell("postgresql", lambda d: claims(d, 2000)),
            "",
        )
    )
    rows.append(
        (
            "lateness p99 < 2 s (SQLite) / 1 s (PostgreSQL)",
            cell("sqlite", lambda d: lateness(d, 2.0)),
            cell("postgresql", lambda d: lateness(d, 1.0)),
            "",
        )
    )
    rows.append(("claims/s >= the peer queue's", "-", cell("postgresql", peer), ""))
    rows.append(
        (
            "large database costs <= 1.5x the 10,000 figures",
            cell("sqlite", scale),
            cell("postgresql", scale),
            "",
        )
    )
    rows.append(
        (
            "`credira serve` idle RSS < 150 MB",
            cell("sqlite", idle),
            cell("postgresql", idle),
            "",
        )
    )
    del dbs
    return rows


def markdown(results: dict[str, Any]) -> str:
    m = results["meta"]
    cfg = results["config"]
    out: list[str] = []
    out.append(
        f"## {m['date']} · {cfg['mode']} · commit {m['commit']}"
        + (" (uncommitted changes)" if m["dirty"] else "")
    )
    out.append("")
    pkgs = ", ".join(f"{k} {v}" for k, v in m["packages"].items() if v)
    out.append(
        f"- Machine: {m['cpu']}, {m['cores']} cores; load average at start "
        f"{'/'.join(f'{x:.1f}' for x in m['load_average_start'])}, at end "
        f"{'/'.join(f'{x:.1f}' for x in m.get('load_average_end', (0, 0, 0)))}"
    )
    out.append(f"- Python {m['python']}; SQLite {m['sqlite']}; PostgreSQL {m['postgresql'] or '-'}")
    out.append(f"- Packages: {pkgs}")
    out.append(
        f"- Load: {cfg['concurrency']} keep-alive connections, {cfg['warmup']} s warm-up, "
        f"{cfg['duration']} s per figure; sizes {cfg['scale'][0]:,} and "
        f"{cfg['scale'][1]:,} callouts; "
        f"worker window {cfg['worker_window']} s; took {results.get('seconds', 0):.0f} s"
    )
    out.append("")
    for kind in ("sqlite", "postgresql"):
        if kind not in results:
            continue
        d = results[kind]
        if "error" in d:
            out.append(f"### {kind}: failed: {d['error']}")
            out.append("")
            continue
        api = d["api"]
        small, large = sorted(api["figures"], key=int)
        r = ratios(d)
        out.append(f"### {kind}")
        out.append("")
        if "floor" in r:
            out.append(
                f"API at {int(small):,} callouts against the floor (ratio = Credira / bare "
                "Starlette on the raw driver: `sqlite3` on the event loop, asyncpg with "
                "prepared statements):"
            )
            out.append("")
            out.append(
                "| endpoint | Credira req/s | floor req/s | req/s ratio | Credira p50 / p99 ms "
                "| floor p50 / p99 ms | p50 ratio | p99 ratio | mean latency ratio |"
            )
            out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
            for ep in ENDPOINTS:
                c, b = api["figures"][small]["credira"][ep], api["figures"][small]["floor"][ep]
                f = r["floor"][ep]
                out.append(
                    f"| `{LABELS[ep]}` | {_n(c['rps'])} | {_n(b['rps'])} | "
                    f"**{_n(f['rps'], 2)}** | {_n(c['p50_ms'], 1)} / {_n(c['p99_ms'], 1)} | "
                    f"{_n(b['p50_ms'], 1)} / {_n(b['p99_ms'], 1)} | "
                    f"{_n(f['p50'], 2)} | {_n(f['p99'], 2)} | {_n(f['mean'], 2)} |"
                )
            out.append("")
        out.append(
            f"API at {int(small):,} callouts against the same-stack baseline (ratio = Credira / "
            "bare Starlette on SQLAlchemy async core):"
        )
        out.append("")
        out.append(
            "| endpoint | Credira req/s | baseline req/s | req/s ratio | Credira p50 / p99 ms "
            "| baseline p50 / p99 ms | p50 ratio | p99 ratio | mean latency ratio |"
        )
        out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for ep in ENDPOINTS:
            c, b = api["figures"][small]["credira"][ep], api["figures"][small]["baseline"][ep]
            f = r["framework"][ep]
            out.append(
                f"| `{LABELS[ep]}` | {_n(c['rps'])} | {_n(b['rps'])} | {_n(f['rps'], 2)} | "
                f"{_n(c['p50_ms'], 1)} / {_n(c['p99_ms'], 1)} | "
                f"{_n(b['p50_ms'], 1)} / {_n(b['p99_ms'], 1)} | "
                f"{_n(f['p50'], 2)} | {_n(f['p99'], 2)} | {_n(f['mean'], 2)} |"
            )
        p = api["paced"]
        out.append("")
        out.append(
            f"Paced `GET /v1/callouts/{{id}}` at 70 % of its peak ({_n(p['peak_rps'])} req/s): "
            f"{_n(p['rate'])} req/s offered, {_n(p['rps'])} served, p50 {_n(p['p50_ms'], 1)} ms, "
            f"p99 {_n(p['p99_ms'], 1)} ms{_runs(p)} (open loop, latency from each request's "
            "due time)"
            + (
                f"; the bare baseline at 70 % of its own peak ({_n(p['baseline']['peak_rps'])} "
                f"req/s): {_n(p['baseline']['rate'])} req/s offered, p50 "
                f"{_n(p['baseline']['p50_ms'], 1)} ms, p99 {_n(p['baseline']['p99_ms'], 1)} ms"
                f"{_runs(p['baseline'])}"
                if "baseline" in p
                else ""
            )
            + (
                f"; the floor at 70 % of its own peak ({_n(p['floor']['peak_rps'])} req/s): "
                f"{_n(p['floor']['rate'])} req/s offered, p50 {_n(p['floor']['p50_ms'], 1)} ms, "
                f"p99 {_n(p['floor']['p99_ms'], 1)} ms{_runs(p['floor'])}"
                if "floor" in p
                else ""
            )
            + "."
        )
        out.append("")
        out.append(
            f"Scale: Credira at {int(small):,} and at {int(large):,} callouts "
            "(cost ratio = small req/s / large req/s):"
        )
        out.append("")
        head = "| endpoint | req/s small | req/s large | cost ratio | p50 ms small / large |"
        sep = "|---|---:|---:|---:|---:|"
        if any("floor_cost" in v for v in r["scale"].values()):
            head += " floor cost ratio |"
            sep += "---:|"
        if any("baseline_cost" in v for v in r["scale"].values()):
            head += " baseline cost ratio |"
            sep += "---:|"
        out.append(head)
        out.append(sep)
        for ep in ENDPOINTS:
            a, b = api["figures"][small]["credira"][ep], api["figures"][large]["credira"][ep]
            s = r["scale"][ep]
            line = (
                f"| `{LABELS[ep]}` | {_n(a['rps'])} | {_n(b['rps'])} | {_n(s['cost'], 2)} | "
                f"{_n(a['p50_ms'], 1)} / {_n(b['p50_ms'], 1)} |"
            )
            if "floor_cost" in s:
                line += f" {_n(s['floor_cost'], 2)} |"
            if "baseline_cost" in s:
                line += f" {_n(s['baseline_cost'], 2)} |"
            out.append(line)
        mem = api["memory"]
        out.append("")
        out.append(
            f"Memory of `credira serve`: idle {_n(mem['idle']['rss_mb'])} MB RSS; peak (VmHWM) "
            f"{_n(mem['after_load']['peak_mb'])} MB after the API load, "
            f"{_n(mem.get('after_scale', {}).get('peak_mb'))} MB after the scale load "
            f"(baseline idle {_n(mem['baseline_idle']['rss_mb'])} MB"
            + (f", floor idle {_n(mem['floor_idle']['rss_mb'])} MB" if "floor_idle" in mem else "")
            + ")."
        )
        if "worker" not in d:  # an API-only run (printed, not appended)
            out.append("")
            continue
        w = d["worker"]
        out.append("")
        late = w["lateness"]
        peer = w.get("peer")
        out.append(
            f"Worker (simulator time scale {w['time_scale']}, default worker settings): "
            f"**{_n(w['claims_per_s'])} claims/s** sustained with full callout runs "
            f"({'' if w.get('steady', True) else 'not steady: '}the first wave of 100 took "
            f"{_n(w.get('first_wave_seconds'), 1)} s; claimed/s over the same span "
            f"{_n(w['claims_per_s_in_window'])}; about "
            f"{_n(w.get('statements_per_callout'), 1)} SQL statements and "
            f"{_n(w.get('cpu_ms_per_callout'), 1)} ms of worker CPU per callout, the worker "
            f"busy {_n(100 * w.get('worker_cpu_share', float('nan')))} % of one core); "
            f"{_n(w['noop_claims_per_s'])} claims/s with a no-op run; lateness at "
            f"{_n(late['rate_per_s'])} callouts/s due: p50 {_n(late['p50_s'] * 1000)} ms, "
            f"p99 {_n(late['p99_s'] * 1000)} ms."
        )
        st = w.get("stages")
        if st:
            out.append(
                f"Where a full run's time went in the window (means over "
                f"{_n(st['runs'])} runs): {_n(st['total_ms'])} ms from claim to finish, of which "
                f"dialling and following the call {_n(st['dial_ms'])} ms, classifying its "
                f"transcript {_n(st['analyse_ms'])} ms, deciding and concluding (waiting for and "
                f"in shared transactions) {_n(st['decide_conclude_ms'])} ms; a deciding "
                f"transaction took {_n(st.get('decide_batch_ms'))} ms for "
                f"{_n(st.get('decide_batch_size'))} callouts, a concluding one "
                f"{_n(st.get('conclude_batch_ms'))} ms for {_n(st.get('conclude_batch_size'))}."
            )
        two = w.get("two_workers")
        if two:
            out.append(
                f"Two worker processes on the same database: {_n(two['claims_per_s'])} claims/s "
                f"({_n(two['cpu_ms_per_callout'], 1)} ms of worker CPU per callout)."
            )
        if peer:
            out.append(
                f"Peer pgqueuer {peer['version']} (batch {peer['batch_size']}, "
                f"{peer['jobs']:,} no-op jobs): {_n(peer['claims_per_s'])} jobs/s; ratio "
                f"Credira / pgqueuer {_n(w['claims_per_s'] / peer['claims_per_s'], 2)} "
                f"(no-op runs {_n(w['noop_claims_per_s'] / peer['claims_per_s'], 2)})."
            )
        for where, prof in (("API", api.get("profile")), ("worker", w.get("profile"))):
            if not prof:
                continue
            out.append("")
            out.append(f"Profile ({where}, py-spy, share of samples):")
            out.append("")
            items = prof.items() if where == "API" else [("worker", prof)]
            for name, digest in items:
                if "self_pct" not in digest:
                    continue
                libs = ", ".join(f"{k} {v}%" for k, v in digest["self_by_library_pct"][:6])
                hot = ", ".join(f"`{k}` {v}%" for k, v in digest["credira_inclusive_pct"][:6])
                out.append(
                    f"- {name}: self time by library: {libs}; Credira frames (inclusive): {hot}"
                )
        out.append("")
    out.append("Targets:")
    out.append("")
    out.append("| target | SQLite | PostgreSQL |")
    out.append("|---|---|---|")
    for target, a, b, _ in targets(results):
        out.append(f"| {target} | {a} | {b} |")
    out.append("")
    return "\n".join(out)
