#!/usr/bin/env python3
"""Turns one bench/run directory into bench/RESULTS.md: medians with their spread over rounds,
the gateway next to nginx and direct, and every target of issue 8 as met or missed."""
import csv
import os
import platform
import statistics
import subprocess
import sys
from collections import defaultdict
from datetime import datetime, timezone

run, hwm_gw, hwm_nginx, rounds, dur, conns, workers = sys.argv[1:8]
tcp_conns, hwm_gw_tcp, hwm_nginx_tcp = (sys.argv[8:11] + ["0", "0", "0"])[:3]
rows = list(csv.DictReader(open(os.path.join(run, "raw.tsv")), delimiter="\t"))
med = statistics.median


def f(x):
    return float(x) if x not in ("", None) else 0.0


def series(kind, scenario, who, key):
    return [f(r[key]) for r in rows if r["kind"] == kind and r["scenario"] == scenario and r["contender"] == who]


def by_round(kind, scenario, who, key):
    return {r["round"]: f(r[key]) for r in rows if r["kind"] == kind and r["scenario"] == scenario and r["contender"] == who}


def spread(xs, fmt="{:.0f}"):
    if not xs:
        return "–"
    if len(xs) == 1:
        return fmt.format(xs[0])
    return f"{fmt.format(med(xs))} ({fmt.format(min(xs))}–{fmt.format(max(xs))})"


def ratio(kind, scenario, a, b, key="rps", b_scenario=None):
    ra, rb = by_round(kind, scenario, a, key), by_round(kind, b_scenario or scenario, b, key)
    return [ra[k] / rb[k] for k in ra if k in rb and rb[k]]


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()
    except OSError:
        return ""


def read(name):
    try:
        return open(os.path.join(run, name)).read().strip()
    except OSError:
        return "?"


cpu_model = sh("awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo")
mem = sh("awk '/MemTotal/ {printf \"%.0f GiB\", $2/1048576}' /proc/meminfo")
commit = sh("git rev-parse --short HEAD") + (" (with uncommitted changes)" if sh("git status --porcelain --untracked-files=no") else "")
out = []
w = out.append
w("# Benchmark results (issue 8)\n")
w(f"- date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; commit `{commit}`")
w(f"- machine: {os.cpu_count()} cores ({cpu_model}), {mem}, Linux {platform.release()}")
w(f"- load average at start / end: {read('load.start')} / {read('load.end')}"
  " (every figure is a median over rounds with its range, and the contenders alternate their order"
  " each round, as this machine may be shared)")
w(f"- {rounds} rounds × {dur} s per contender and scenario; {conns} keep-alive TCP connections;"
  f" nginx and the gateway with {workers} workers each, pinned to core 0; wrk (1 thread), oha and the mock"
  " (nginx serving static JSON, 1.6 KB agents, 25 KB ticket with 60 events) on core 1; every contender at nice -10 so the other work on the machine yields to it")
w("- rerun: `bench/run` (full) or `bench/run --quick`; raw per-round figures are written to `raw.tsv` in the run directory\n")

w("## Closed loop (wrk): throughput, CPU per call, memory\n")
w("| scenario | direct req/s | nginx req/s | gateway req/s | gateway ÷ nginx | nginx CPU/call | gateway CPU/call | nginx RSS | gateway RSS |")
w("|---|---|---|---|---|---|---|---|---|")
names = {"agents": "GET /agents (1.6 KB), 1 connection", "ticket": "GET /tickets/{id} (25 KB, 60 events), 1 connection",
         "agents-10k": "GET /agents, 10,000 distinct connections (callers)"}
for s in names:
    w(f"| {names[s]} | {spread(series('closed', s, 'direct', 'rps'))} | {spread(series('closed', s, 'nginx', 'rps'))} "
      f"| {spread(series('closed', s, 'gateway', 'rps'))} | {spread(ratio('closed', s, 'gateway', 'nginx'), '{:.2f}')} "
      f"| {spread(series('closed', s, 'nginx', 'cpu_us_per_call'), '{:.1f}')} µs "
      f"| {spread(series('closed', s, 'gateway', 'cpu_us_per_call'), '{:.1f}')} µs "
      f"| {med(series('closed', s, 'nginx', 'rss_kib') or [0]) / 1024:.1f} MiB "
      f"| {med(series('closed', s, 'gateway', 'rss_kib') or [0]) / 1024:.1f} MiB |")
w(f"\nPeak RSS over the whole run (VmHWM): gateway {int(hwm_gw) / 1024:.1f} MiB, nginx (master + workers) {int(hwm_nginx) / 1024:.1f} MiB.\n")
# On a host where one core of load barely outruns the mock, nginx reaches the load's ceiling and
# gateway ÷ nginx reads higher than the proxies' own costs would: say so, beside the figures.
for s in names:
    d, n = series("closed", s, "direct", "rps"), series("closed", s, "nginx", "rps")
    if d and n and med(n) >= 0.9 * med(d):
        w(f"**Load-bound: {names[s]}**: nginx ran at {med(n) / med(d) * 100:.0f} % of direct, so the load core, "
          "not nginx, set nginx's throughput and gateway ÷ nginx overstates the gateway; compare CPU per call instead.\n")

w("## The 429 path (every call over the limit)\n")
w("| contender | req/s | ÷ its proxied /agents throughput | calls that reached the mock |")
w("|---|---|---|---|")
for who, base in [("gateway429", "gateway"), ("nginx429", "nginx")]:
    up = series("closed", "429", who, "upstream_calls")
    w(f"| {who.replace('429', '')} | {spread(series('closed', '429', who, 'rps'))} "
      f"| {spread(ratio('closed', '429', who, base, b_scenario='agents'), '{:.2f}')} | {spread(up)} |")

tcp = [r for r in rows if r["scenario"] == "agents-tcp"]
if tcp:
    w(f"\n## {int(tcp_conns):,} TCP connections, one caller (\"10,000 connections\" read as sockets)\n")
    w("| contender | req/s | ÷ its own /agents throughput over " + conns + " connections | CPU/call | non-2xx + errors | peak RSS after it |")
    w("|---|---|---|---|---|---|")
    for who, hwm in [("direct", None), ("nginx", hwm_nginx_tcp), ("gateway", hwm_gw_tcp)]:
        bad = [a + b for a, b in zip(series("closed", "agents-tcp", who, "non2xx"), series("closed", "agents-tcp", who, "errors"))]
        w(f"| {who} | {spread(series('closed', 'agents-tcp', who, 'rps'))} "
          f"| {spread(ratio('closed', 'agents-tcp', who, who, b_scenario='agents'), '{:.2f}')} "
          f"| {spread(series('closed', 'agents-tcp', who, 'cpu_us_per_call'), '{:.1f}')} µs | {spread(bad)} "
          f"| {'–' if hwm is None else f'{int(hwm) / 1024:.1f} MiB'} |")

w("\n## Fixed rate (oha, open loop with latency correction): latency and what the proxy adds over direct\n")
w("| scenario @ rate | contender | p50 µs | p99 µs | p99.9 µs | added p50 µs | added p99 µs | CPU/call |")
w("|---|---|---|---|---|---|---|---|")
open_scen = sorted({r["scenario"] for r in rows if r["kind"] == "open"})
for s in open_scen:
    rate = next(r["rate"] for r in rows if r["kind"] == "open" and r["scenario"] == s)
    for who in ["direct", "nginx", "gateway"]:
        add50 = ratio_like = None
        d50, d99 = by_round("open", s, "direct", "p50_us"), by_round("open", s, "direct", "p99_us")
        c50, c99 = by_round("open", s, who, "p50_us"), by_round("open", s, who, "p99_us")
        add50 = [c50[k] - d50[k] for k in c50 if k in d50]
        add99 = [c99[k] - d99[k] for k in c99 if k in d99]
        w(f"| {s} ({rate}/s) | {who} | {spread(series('open', s, who, 'p50_us'))} | {spread(series('open', s, who, 'p99_us'))} "
          f"| {spread(series('open', s, who, 'p999_us'))} | {'–' if who == 'direct' else spread(add50)} "
          f"| {'–' if who == 'direct' else spread(add99)} | {spread(series('open', s, who, 'cpu_us_per_call'), '{:.1f}')} µs |")

relay = [l.split("|")[1:] for l in read("relay.out").splitlines() if l.startswith("RELAY|")]
rel = {k: v for k, v, *_ in relay}
w("\n## Relay (SQLite, synchronous=FULL; `cargo bench --bench relay_load`)\n")
if relay:
    w("| measure | figure |")
    w("|---|---|")
    for k, v, *_ in relay:
        w(f"| {k} | {v} |")
else:
    w("(the relay bench did not report: see relay.log in the run directory)")


def fig(xs, fmt="{:.2f}"):
    return fmt.format(med(xs)) if xs else "?"


def verdict(ok):
    return "**met**" if ok else "**missed**"


def keeps(label, scenario):
    """The gateway's throughput in `scenario` ≥ 90 % of its one-caller, 64-socket throughput."""
    one, many = series("closed", "agents", "gateway", "rps"), series("closed", scenario, "gateway", "rps")
    return (label, f"{(med(many) / med(one) * 100) if one and many else 0:.0f} %",
            bool(one) and bool(many) and med(many) >= 0.9 * med(one))


# MB as the issue writes it, 10^6 bytes: the stricter reading of "64 MB" (64 MiB would allow 3 MB more).
def fits(label, hwm_kib):
    return (label, f"{int(hwm_kib) / 1024:.1f} MiB ({int(hwm_kib) * 1024 / 1e6:.1f} MB)", int(hwm_kib) * 1024 <= 64_000_000)


t = []
for s in names:
    r = ratio("closed", s, "gateway", "nginx")
    t.append((f"throughput ≥ 1.0× nginx ({s})", f"{fig(r)}×", bool(r) and med(r) >= 1.0))
cg, cn = series("closed", "agents", "gateway", "cpu_us_per_call"), series("closed", "agents", "nginx", "cpu_us_per_call")
t.append(("CPU per call ≤ nginx's (1.6 KB)", f"{fig(cg, '{:.1f}')} µs vs {fig(cn, '{:.1f}')} µs", bool(cg) and med(cg) <= med(cn)))
for s in [x for x in open_scen if x.endswith("@50%")]:
    d50, d99 = by_round("open", s, "direct", "p50_us"), by_round("open", s, "direct", "p99_us")
    g50, g99 = by_round("open", s, "gateway", "p50_us"), by_round("open", s, "gateway", "p99_us")
    n99 = by_round("open", s, "nginx", "p99_us")
    a50 = [g50[k] - d50[k] for k in g50 if k in d50]
    a99 = [g99[k] - d99[k] for k in g99 if k in d99]
    an99 = [n99[k] - d99[k] for k in n99 if k in d99]
    t.append((f"added p50 ≤ 0.5 ms ({s})", f"{fig(a50, '{:.0f}')} µs", bool(a50) and med(a50) <= 500))
    t.append((f"added p99 ≤ 2 ms and ≤ nginx's added p99 ({s})", f"{fig(a99, '{:.0f}')} µs vs nginx {fig(an99, '{:.0f}')} µs",
              bool(a99) and med(a99) <= 2000 and med(a99) <= med(an99)))
r429 = ratio("closed", "429", "gateway429", "gateway", b_scenario="agents")
up = series("closed", "429", "gateway429", "upstream_calls")
t.append(("429 path ≥ 3× proxied, zero upstream calls", f"{fig(r429)}×, median {fig(up, '{:.0f}')} upstream calls",
          bool(r429) and med(r429) >= 3 and bool(up) and med(up) == 0))
t.append(keeps("10,000 connections ≥ 90 % of one-connection throughput", "agents-10k"))
t.append(fits("gateway RSS ≤ 64 MB (peak, 10,000 connections included)", hwm_gw))
if tcp:
    t.append(keeps(f"read as sockets: {int(tcp_conns):,} TCP connections ≥ 90 % of the {conns}-connection throughput", "agents-tcp"))
    t.append(fits(f"read as sockets: gateway RSS ≤ 64 MB with {int(tcp_conns):,} TCP connections", hwm_gw_tcp))
for key, label, limit, cmp in [("acks/s, 8 senders", "≥ 1,000 events/s acknowledged with 8 senders", 1000, "ge"),
                               ("deliveries/s, 8 flows", "≥ 1,000 deliveries/s over 8 flows", 1000, "ge"),
                               ("200 → callback p99 at half load", "200 → callback p99 ≤ 100 ms at half load", 100, "le")]:
    v = rel.get(key)
    try:
        x = float(v.split()[0].replace(",", ""))
        ok = x >= limit if cmp == "ge" else x <= limit
    except (AttributeError, ValueError, IndexError):
        ok = False
    t.append((label, v or "?", ok))
order = rel.get("one flow in order")
t.append(("one flow receives its events in order", order or "?", order == "yes"))

w("\n## Targets of issue 8\n")
w("| target | figure | verdict |")
w("|---|---|---|")
for label, figure, ok in t:
    w(f"| {label} | {figure} | {verdict(ok)} |")
print("\n".join(out))
