#!/usr/bin/python3
"""Renders a benchmark directory (scripts/bench.sh) as Markdown.

    report.py [--quiet] RESULTS_DIR

Reads meta.txt, runs.tsv (+ raw/ wrk outputs with their "BENCH {json}" line),
callgrind.tsv (+ callgrind-<S>.top.txt), probe.tsv and errors.tsv; writes
summary.md (also printed) and the gnuplot data files plot-*.dat.  Medians
over rounds; B/A and C/A are medians of the per-round ratios (each round runs
A B C ... back to back, so slow drift of the machine cancels in the ratio)."""
import json
import os
import re
import statistics
import sys

LABELS = {
    "A": "A httpd byrequests (floor)",
    "B": "B httpd kylin, routing",
    "C": "C httpd kylin + sessions",
    "C2": "C2 httpd kylin + sessions, KylinSessionCacheTTL 2s",
    "D": "D nginx round robin",
    "E": "E HAProxy roundrobin",
    "A30": "A30 httpd byrequests, 30 members",
    "B30": "B30 httpd kylin, routing, 30 members",
}
SHORT = {"A": "A byrequests", "B": "B kylin", "C": "C kylin+sessions",
         "C2": "C2 sessions+cache", "D": "D nginx", "E": "E HAProxy"}
MAIN = ("A", "B", "C", "C2", "D", "E")
WORKLOADS = {"read": "GET /kylin/api/projects", "query": "POST /kylin/api/query"}


def read_meta(d):
    meta = {}
    with open(os.path.join(d, "meta.txt")) as f:
        for line in f:
            k, _, v = line.rstrip("\n").partition("=")
            meta[k] = v
    return meta


def read_tsv(d, name):
    path = os.path.join(d, name)
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [line.rstrip("\n").split("\t") for line in f if line.strip()]


def wrk_result(d, rel):
    """The BENCH json of one wrk run, with rps and ms fields added."""
    with open(os.path.join(d, rel)) as f:
        for line in f:
            if line.startswith("BENCH "):
                r = json.loads(line[6:])
                r["rps"] = r["requests"] / (r["duration_us"] / 1e6)
                for p in ("p50", "p90", "p99", "p999"):
                    r[p] = r[p + "_us"] / 1000.0
                r["errors"] = sum(r[k] for k in ("connect_err", "read_err", "write_err",
                                                 "status_err", "timeout_err"))
                return r
    return None


def runs(d):
    out = []
    tick = os.sysconf("SC_CLK_TCK")
    for phase, sc, wl, conns, members, rnd, rel, load, cpu0, cpu1 in read_tsv(d, "runs.tsv"):
        r = wrk_result(d, rel)
        if r:
            r.update(phase=phase, sc=sc, wl=wl, conns=int(conns), raw=rel,
                     members=int(members), round=int(rnd), load=float(load))
            used = [(int(b) - int(a)) / tick for a, b in zip(cpu0.split(), cpu1.split())]
            n = max(r["requests"], 1)
            # CPU microseconds per request: proxy, memcached, backend nginx
            r["cpu_us"], r["mc_us"], r["be_us"] = (u * 1e6 / n for u in used)
            out.append(r)
    return out


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def pick(rs, **kw):
    return [r for r in rs if all(r[k] == v for k, v in kw.items())]


def paired(rs, sc, base, key, how, **kw):
    """Median over rounds of how(sc_round, base_round)."""
    vals = []
    for r in pick(rs, sc=sc, **kw):
        b = pick(rs, sc=base, round=r["round"], **kw)
        if b:
            vals.append(how(r[key], b[0][key]))
    return med(vals) if vals else None


def ratio(a, b):
    return a / b if b else float("nan")


def delta(a, b):
    return a - b


def fmt_rps(x):
    return f"{x:,.0f}"


def main_table(rs, meta):
    lines = []
    if not pick(rs, phase="main"):
        return [], {}
    rounds = max(r["round"] for r in pick(rs, phase="main"))
    sess = meta.get("sessions", "?")
    loads = [r["load"] for r in pick(rs, phase="main")]
    lines.append(f"### Main run: {rounds} rounds (A B C C2 D E back to back per round), "
                 f"wrk {meta.get('wrk', '')} --latency\n")
    lines.append(f"1-minute load average during the runs: {min(loads):.2f}-{max(loads):.2f} "
                 f"on {meta.get('cpus')} CPUs.\n")
    lines.append("req/s and latency are what the whole loop (wrk, proxy, backends, memcached) "
                 "sustains on the shared CPUs; **proxy CPU µs/req** is the CPU time the "
                 "proxy's processes used per answered request (/proc, utime+stime), the "
                 "number least disturbed by other load.\n")
    lines.append("| workload | scenario | req/s (median) | req/s min-max | p50 ms | p99 ms "
                 "| req/s vs A | p99 Δ vs A (ms) | proxy CPU µs/req | CPU vs A | errors |")
    lines.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    plot = {}
    for wl in ("read", "query"):
        for sc in MAIN:
            xs = pick(rs, phase="main", sc=sc, wl=wl)
            if not xs:
                continue
            label = LABELS[sc]
            if sc in ("C", "C2") and sess != "active":
                label += " **(sessions not active)**"
            rps = med([r["rps"] for r in xs])
            p50 = med([r["p50"] for r in xs])
            p99 = med([r["p99"] for r in xs])
            cpu = med([r["cpu_us"] for r in xs])
            if sc == "A":
                vs, dp, cv = "1.000", "0.00", "1.000"
            else:
                q = paired(rs, sc, "A", "rps", ratio, phase="main", wl=wl)
                dd = paired(rs, sc, "A", "p99", delta, phase="main", wl=wl)
                cq = paired(rs, sc, "A", "cpu_us", ratio, phase="main", wl=wl)
                vs = f"{q:.3f}" if q is not None else "-"
                dp = f"{dd:+.2f}" if dd is not None else "-"
                cv = f"{cq:.3f}" if cq is not None else "-"
            errs = sum(r["errors"] for r in xs)
            lines.append(f"| {WORKLOADS[wl]} | {label} | {fmt_rps(rps)} | "
                         f"{fmt_rps(min(r['rps'] for r in xs))}-{fmt_rps(max(r['rps'] for r in xs))} | "
                         f"{p50:.2f} | {p99:.2f} | {vs} | {dp} | {cpu:.1f} | {cv} | {errs} |")
            plot.setdefault(sc, {})[wl] = (rps, p99)
    return lines, plot


def scale_table(rs):
    xs = pick(rs, phase="scale")
    if not xs:
        return [], []
    lines = ["### Scaling with client connections (GET, 3 members)\n",
             "| connections | A req/s | B req/s | C req/s | B/A | C/A | A p99 ms | B p99 ms "
             "| C p99 ms | CPU µs/req A / B / C |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    plot = []
    for c in sorted({r["conns"] for r in xs}):
        row = {}
        for sc in "ABC":
            v = pick(xs, conns=c, sc=sc)
            row[sc] = ((med([r["rps"] for r in v]), med([r["p99"] for r in v]),
                        med([r["cpu_us"] for r in v])) if v else (float("nan"),) * 3)
        ba = paired(xs, "B", "A", "rps", ratio, conns=c)
        ca = paired(xs, "C", "A", "rps", ratio, conns=c)
        lines.append(f"| {c} | {fmt_rps(row['A'][0])} | {fmt_rps(row['B'][0])} | {fmt_rps(row['C'][0])} | "
                     f"{ba if ba is None else f'{ba:.3f}'} | {ca if ca is None else f'{ca:.3f}'} | "
                     f"{row['A'][1]:.2f} | {row['B'][1]:.2f} | {row['C'][1]:.2f} | "
                     f"{row['A'][2]:.1f} / {row['B'][2]:.1f} / {row['C'][2]:.1f} |")
        plot.append((c, row))
    return lines, plot


def members_table(rs):
    xs = pick(rs, phase="members")
    if not xs:
        return [], []
    lines = ["### 3 vs 30 members (GET)\n",
             "| members | A req/s | B req/s | B/A | A p99 ms | B p99 ms | p99 Δ B-A ms "
             "| A CPU µs/req | B CPU µs/req | CPU B/A |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    plot = []
    for m in (3, 30):
        a_sc, b_sc = ("A", "B") if m == 3 else ("A30", "B30")
        a = pick(xs, sc=a_sc)
        b = pick(xs, sc=b_sc)
        if not a or not b:
            continue
        ba = paired(xs, b_sc, a_sc, "rps", ratio)
        dd = paired(xs, b_sc, a_sc, "p99", delta)
        ra, rb = med([r["rps"] for r in a]), med([r["rps"] for r in b])
        pa, pb = med([r["p99"] for r in a]), med([r["p99"] for r in b])
        ca, cb = med([r["cpu_us"] for r in a]), med([r["cpu_us"] for r in b])
        cq = paired(xs, b_sc, a_sc, "cpu_us", ratio)
        lines.append(f"| {m} | {fmt_rps(ra)} | {fmt_rps(rb)} | {ba:.3f} | {pa:.2f} | {pb:.2f} | "
                     f"{dd:+.2f} | {ca:.1f} | {cb:.1f} | {cq:.3f} |")
        plot.append((m, ra, rb))
    return lines, plot


TOP_RE = re.compile(r"^\s*([0-9,]+)\s+\(\s*[0-9.]+%\)\s+(\S+?):(\S+)\s+\[")


def top_functions(d, sc, n, section, limit):
    path = os.path.join(d, f"callgrind-{sc}.top.txt")
    if not os.path.exists(path):
        return []
    out, cur = [], None
    with open(path) as f:
        for line in f:
            if line.startswith("== "):
                cur = section in line
                continue
            m = TOP_RE.match(line)
            if cur and m and len(out) < limit:
                out.append((int(m.group(1).replace(",", "")) / n, m.group(2), m.group(3)))
    return out


def callgrind_section(d):
    rows = read_tsv(d, "callgrind.tsv")
    if not rows:
        return []
    lines = ["### Deterministic cost: callgrind, `apache2 -X`\n",
             "Same fixed sequence for each (GET projects / POST query alternating, one "
             "keep-alive connection); instrumentation zeroed after the warm-up, dumped "
             "after the batch, then the same wall time idle is dumped and subtracted "
             "(the watchdog prober and the listener run in that process).\n",
             "| scenario | requests | Ir/request (gross) | idle Ir (same wall time) | Ir/request (net) | net vs floor (A; A30 for B30) | not 200 |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    net = {}
    for sc, n, batch, idle, wall, bad in rows:
        n, batch, idle = int(n), int(batch), int(idle)
        net[sc] = (batch - idle) / n
    for sc, n, batch, idle, wall, bad in rows:
        n, batch, idle = int(n), int(batch), int(idle)
        base = "A30" if sc.endswith("30") else "A"
        vs = (f"{net[sc] - net[base]:+,.0f} ({net[sc] / net[base] - 1:+.1%})"
              if base in net and sc != base else "-")
        lines.append(f"| {LABELS[sc]} | {n} | {batch / n:,.0f} | {idle:,} ({wall} s) | "
                     f"{net[sc]:,.0f} | {vs} | {bad.split()[0] if bad else '?'} |")
    for sc, n, *_ in rows:
        self_top = top_functions(d, sc, int(n), "self cost, our module", 12)
        incl_top = top_functions(d, sc, int(n), "inclusive cost, our module", 8)
        if not self_top:
            continue
        lines.append(f"\n{LABELS[sc]}: our functions, Ir per request (self; inclusive = "
                     f"with callees, e.g. httpd's get_best_worker; a filter's inclusive "
                     f"cost holds the rest of the output chain)\n")
        lines.append("| self Ir/req | function | | inclusive Ir/req | function |")
        lines.append("|---:|---|---|---:|---|")
        for i in range(max(len(self_top), len(incl_top))):
            a = self_top[i] if i < len(self_top) else None
            b = incl_top[i] if i < len(incl_top) else None
            lines.append(f"| {f'{a[0]:,.0f}' if a else ''} | {f'`{a[1]}:{a[2]}`' if a else ''} | "
                         f"| {f'{b[0]:,.0f}' if b else ''} | {f'`{b[1]}:{b[2]}`' if b else ''} |")
    return lines


def probe_section(d):
    rows = read_tsv(d, "probe.tsv")
    if not rows:
        return []
    lines = ["### Probe cost on Kylin (KylinProbeInterval 5s)\n",
             "Requests the prober sent, counted in each backend's access log over the window "
             "(no client traffic to these nodes).\n",
             "| httpd StartServers | child processes | node (mode) | window s | requests | per minute | by path |",
             "|---:|---:|---|---:|---:|---:|---|"]
    modes = {"a": "all, leader", "b": "query", "c": "query"}
    for servers, procs, node, t0, t1, counts in rows:
        total, _, paths = counts.partition(" ")
        win = float(t1) - float(t0)
        lines.append(f"| {servers} | {procs} | {node} ({modes[node[-1]]}) | {win:.0f} | {total} | "
                     f"{int(total) * 60 / win:.1f} | {paths} |")
    return lines


def memcached_section(d, rs):
    """memcached traffic per answered request of C and C2, from the counters
    read around each of their wrk runs (memcached-runs.tsv)."""
    runs = read_tsv(d, "memcached-runs.tsv")
    if not runs:
        return []
    reqs = {r["raw"]: r["requests"] for r in rs}
    out = []
    for sc in ("C", "C2"):
        n, diff = 0, {}
        for phase, rsc, raw, before, after in runs:
            if rsc != sc or raw not in reqs:
                continue
            b = dict(kv.split("=") for kv in before.split())
            a = dict(kv.split("=") for kv in after.split())
            n += reqs[raw]
            for k in a:
                diff[k] = diff.get(k, 0) + int(a[k]) - int(b.get(k, 0))
        if n == 0:
            continue
        mc_us = med([r["mc_us"] for r in rs if r["sc"] == sc and r["phase"] == "main"] or [0])
        out.append(f"- {LABELS[sc]}: {n:,} requests, {diff['cmd_get']:,} memcached gets "
                   f"({diff['cmd_get'] / n:.3f}/request, {diff['get_hits']:,} hits), "
                   f"{diff['cmd_set']:,} sets ({diff['cmd_set'] / n:.4f}/request); "
                   f"memcached CPU {mc_us:.1f} µs per request (main runs, median), on top "
                   f"of the proxy CPU above.")
    if not out:
        return []
    return (["memcached during the load runs of the session scenarios:\n"] + out
            + ["", "wrk 'errors' are socket errors (read = connection closed by the "
               "server, e.g. event MPM closing keep-alive connections when all workers "
               "of a child are busy) plus non-2xx answers.", ""])


def errors_section(d):
    rows = read_tsv(d, "errors.tsv")
    bad = [(n, c) for n, c in rows if c not in ("", "0")]
    if not rows:
        return []
    if not bad:
        return [f"httpd error logs: no error/crit/alert/emerg line in {len(rows)} instances."]
    return ["httpd error logs with error lines: "
            + ", ".join(f"{n}: {c}" for n, c in bad) + " (see run/)."]


def write_plots(d, main_plot, scale_plot, members_plot):
    with open(os.path.join(d, "plot-main.dat"), "w") as f:
        f.write("# scenario read_rps query_rps read_p99_ms query_p99_ms\n")
        for sc in MAIN:
            if sc in main_plot:
                r = main_plot[sc].get("read", (0, 0))
                q = main_plot[sc].get("query", (0, 0))
                f.write(f"\"{SHORT[sc]}\" {r[0]:.1f} {q[0]:.1f} {r[1]:.3f} {q[1]:.3f}\n")
    with open(os.path.join(d, "plot-scale.dat"), "w") as f:
        f.write("# conns A_rps B_rps C_rps A_p99 B_p99 C_p99\n")
        for c, row in scale_plot:
            f.write(f"{c} {row['A'][0]:.1f} {row['B'][0]:.1f} {row['C'][0]:.1f} "
                    f"{row['A'][1]:.3f} {row['B'][1]:.3f} {row['C'][1]:.3f}\n")
    with open(os.path.join(d, "plot-members.dat"), "w") as f:
        f.write("# members A_rps B_rps\n")
        for m, ra, rb in members_plot:
            f.write(f"\"{m} members\" {ra:.1f} {rb:.1f}\n")


def main(d, quiet):
    meta = read_meta(d)
    rs = runs(d)
    out = [f"# mod_kylin_balancer benchmark {meta.get('date', '')}\n",
           f"- commit {meta.get('commit')}, module sha256 {meta.get('module_sha256')}… "
           f"(built {meta.get('module_built')})",
           f"- {meta.get('cpus')} CPUs ({meta.get('cpu_model')}), load average at start "
           f"{meta.get('loadavg_start')}, at end {meta.get('loadavg_end')}; wrk, proxies and "
           "backends share these CPUs",
           f"- {meta.get('apache2')} event MPM (StartServers 4, ThreadsPerChild 25); "
           f"nginx {meta.get('nginx')}; HAProxy {meta.get('haproxy')}",
           "- backends: 3 static nginx server blocks answering like Kylin 4.0.3: n1 mode "
           "`all` + job-engine leader, n2 and n3 mode `query` (under kylin, queries go to "
           "n2/n3 only; byrequests/nginx/HAProxy spread everything over all three)",
           (f"- C sessions: **active** (two memcached, 48-byte key, the cookie of one "
            "login through C on every request)" if meta.get("sessions") == "active" else
            "- C sessions: **not active**: the login through C gave no KYLIN_LB_SESSION "
            "cookie, so C ran as B with KylinSessionStore configured (see login.txt)"),
           "", "![req/s, p99, scaling, members](bench.png)", ""]
    lines, main_plot = main_table(rs, meta)
    out += lines + [""] if lines else []
    out += memcached_section(d, rs)
    lines, scale_plot = scale_table(rs)
    out += lines + [""] if lines else []
    lines, members_plot = members_table(rs)
    out += lines + [""] if lines else []
    out += callgrind_section(d) + [""]
    out += probe_section(d) + [""]
    out += errors_section(d)
    text = "\n".join(out).rstrip() + "\n"
    with open(os.path.join(d, "summary.md"), "w") as f:
        f.write(text)
    write_plots(d, main_plot, scale_plot, members_plot)
    if not quiet:
        print(text)


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--quiet"]
    if len(args) != 1:
        sys.exit(__doc__)
    main(args[0], "--quiet" in sys.argv[1:])
