"""The background prober (contract.md "Balancer" and "Routing", kylin-rest.md
sections 3, 4.1, 8 and 10): answers it cannot trust take a member out of
rotation with the reason on the status page; modes are learned the way each
Kylin generation allows; credentials are never retried into a lock-out;
probes do not multiply with httpd's children; what requests teach (a job
node refusing queries, 5.x cluster errors) reaches the routing; the status
page is fast and well-formed."""
import collections
import os
import re
import signal
import http.client
import json
import statistics
import time
import xml.etree.ElementTree as ET

import pytest

import harness
from harness import basic

ADMIN = {"Authorization": basic("ADMIN", "KYLIN")}
QUERY = {"sql": "select 1", "project": "learn_kylin"}
# A short interval keeps the suite fast; a timeout well above a simulator's
# answer time keeps healthy members up on a busy 2-core machine.  The tests
# that measure how fast a member leaves rotation set their own.
INTERVAL, TIMEOUT = 0.3, 1.0
PROBE = (f"KylinProbeInterval {int(INTERVAL * 1000)}ms\n"
         f"KylinProbeTimeout {int(TIMEOUT * 1000)}ms\n")
FAST_TIMEOUT = 0.5
FAST = (f"KylinProbeInterval {int(INTERVAL * 1000)}ms\n"
        f"KylinProbeTimeout {int(FAST_TIMEOUT * 1000)}ms\n")
PROBE_UA = "mod_kylin_balancer-probe"
# the request every probe of a generation starts with
FIRST_PROBE = {"v4": "/kylin/api/admin/version", "v5": "/kylin/api/health"}


def start(cluster, profile, specs, directives=PROBE, creds="ADMIN:KYLIN",
          public_mode=True, mpm="event", body="", wait=True):
    """specs: [(name, mode, leader)] -> (httpd, {name: node})."""
    extra = ["--public-mode"] if profile == "v4" and public_mode else []
    nodes = {name: cluster.node(name, profile, mode, leader, extra)
             for name, mode, leader in specs}
    if creds:
        path = cluster.write_file("probe.creds", creds + "\n")
        directives += f"KylinProbeCredentials {path}\n"
    h = cluster.httpd(mpm=mpm).start(members=[n.url for n in nodes.values()],
                                     directives=directives, body=body)
    if wait:
        h.wait_probed(nodes.values())
    return h, nodes


def served_by(h, method, path, n, body=None, headers=ADMIN):
    return harness.served_by(h, method, path, n, body, headers)


def probe_log(node, since=0):
    return [e for e in node.log(since) if e["ua"] == PROBE_UA]


# ---- https members -------------------------------------------------------

TLS_PROXY = ("SSLProxyEngine on\nSSLProxyVerify none\nSSLProxyCheckPeerName off\n"
             "SSLProxyCheckPeerExpire off\n")


def test_https_members_are_probed_and_served(cluster):
    """Members behind TLS (https:// BalancerMembers): probed over TLS, with
    their certificate checked against KylinProbeCAFile, and routed by mode."""
    cert, key = cluster.tls_pair("node")
    nodes = [cluster.node("t1", "v4", "all", True, ["--public-mode"], tls=(cert, key)),
             cluster.node("t2", "v4", "query", False, ["--public-mode"], tls=(cert, key))]
    h = cluster.httpd()
    h.modules.append("ssl")
    h.start(members=[n.url for n in nodes],
            directives=PROBE + TLS_PROXY + f"KylinProbeCAFile {cert}\n")
    h.wait_probed(nodes)
    ms = h.members()
    assert ms[nodes[0].url]["mode"] == "all" and ms[nodes[1].url]["mode"] == "query", ms
    assert probe_log(nodes[0]) and probe_log(nodes[1])
    assert served_by(h, "POST", "/kylin/api/query", 6, body=QUERY) == {"t2": 6}


def test_https_member_with_a_certificate_we_do_not_trust_stays_out(cluster):
    """A node whose certificate does not chain to KylinProbeCAFile is not
    probed (its answers are not trusted): out of rotation, the reason on the
    status page; without KylinProbeCAFile the same node is probed."""
    cluster.allow_errors("no usable member")
    cert, key = cluster.tls_pair("node")
    other, _ = cluster.tls_pair("other-ca")
    node = cluster.node("t1", "v4", "all", True, ["--public-mode"], tls=(cert, key))
    h = cluster.httpd()
    h.modules.append("ssl")
    h.start(members=[node.url], directives=PROBE + TLS_PROXY + f"KylinProbeCAFile {other}\n")
    h.wait_probed([node], healthy=False)
    err = h.members()[node.url]["error"]
    assert "certificate verify failed" in err, err
    assert not probe_log(node)
    assert h.get("/kylin/api/projects").status == 503
    h2 = cluster.httpd()
    h2.modules.append("ssl")
    h2.start(members=[node.url], directives=PROBE + TLS_PROXY)
    h2.wait_probed([node])


# ---- answers that cannot be trusted --------------------------------------

FAULTS = [
    # fault, delay_ms, what the error on the status page says
    ("garbage", 0, ("unexpected answer", "not JSON", "parse", "malformed",
                    "invalid", "HTTP 200")),
    ("html", 0, ("unexpected answer", "not JSON", "parse", "invalid",
                 "HTTP 200")),
    ("500", 0, ("HTTP 500",)),
    ("slow", 1500, ("timed out",)),
    ("hang", 0, ("timed out",)),
    ("refuse", 0, ("receive", "empty answer", "reset", "closed")),
]


@pytest.mark.parametrize("profile", ["v4", "v5"])
def test_untrusted_probe_answers_take_a_member_out(cluster, profile):
    h, nodes = start(cluster, profile, [("n1", "all", True), ("n2", "all", False)],
                     directives=FAST)
    n2 = nodes["n2"]
    for fault, delay, words in FAULTS:
        n2.control(fault=fault, fault_scope="probes", delay_ms=delay)
        t0 = time.time()
        m = h.wait_until(lambda: h.members()[n2.url]["health"] == "down"
                         and h.members()[n2.url], 5, 0.02, f"{fault}: n2 down")
        took = time.time() - t0
        print(f"\n[{profile} {fault}] down after {took:.3f} s: {m['error']!r}")
        assert took <= INTERVAL + FAST_TIMEOUT + 0.5, (fault, took)
        assert any(w in m["error"] for w in words), (fault, m["error"])
        # out of rotation: reads (which n2 would still answer) avoid it
        assert set(served_by(h, "GET", "/kylin/api/projects", 6)) == {"n1"}, fault
        html = h.get("/kylin-balancer")
        assert html.status == 200 and "down" in html.body
        n2.control(fault="none", delay_ms=0)
        h.wait_until(lambda: h.members()[n2.url]["health"] == "up", 5, 0.02,
                     f"{fault}: n2 back")
        assert h.members()[n2.url]["error"] == ""
    assert "n2" in served_by(h, "GET", "/kylin/api/projects", 6)
    # the teardown checks the error log for crashes (segfault, exit signal)


def test_v5_health_down_takes_a_member_out(cluster):
    h, nodes = start(cluster, "v5", [("n1", "all", True), ("n2", "all", False)])
    nodes["n2"].control(fault="down")
    m = h.wait_until(lambda: h.members()[nodes["n2"].url]["health"] == "down"
                     and h.members()[nodes["n2"].url], 5, 0.02, "n2 down")
    assert "DOWN" in m["error"], m


# ---- one probe set per member per interval, whatever the children ---------

@pytest.mark.parametrize("mpm,body", [
    ("prefork", "StartServers 5\nMinSpareServers 5\nMaxSpareServers 10\n"),
    ("event", "StartServers 3\nMinSpareThreads 6\nMaxSpareThreads 12\n"
              "ThreadsPerChild 4\nServerLimit 4\nMaxRequestWorkers 16\n"),
])
def test_probes_do_not_multiply_with_children(cluster, mpm, body):
    interval = 0.3
    h, nodes = start(cluster, "v4", [("n1", "all", True), ("n2", "query", False)],
                     directives=f"KylinProbeInterval {int(interval * 1000)}ms\n"
                                "KylinProbeTimeout 250ms\n",
                     mpm=mpm, body=body)
    children = len(h.children())
    seqs = {n: nodes[n].state()["requests"] + 1 for n in nodes}
    window = 20 * interval
    time.sleep(window)
    for name, node in nodes.items():
        sets = [e for e in probe_log(node, seqs[name])
                if e["path"] == FIRST_PROBE["v4"]]
        total = len(probe_log(node, seqs[name]))
        per_interval = len(sets) * interval / window
        print(f"\n[{mpm}, {children} children] {name}: {len(sets)} probe sets "
              f"({total} requests) in {window:.1f} s = {per_interval:.2f} per "
              f"interval")
        assert children >= 3, children
        # not one set per child: a late watchdog tick may cost a set or two
        assert 0.7 <= per_interval <= 1.1, (len(sets), window / interval)


# ---- modes ------------------------------------------------------------------

MODES3 = [("n1", "all", True), ("n2", "job", False), ("n3", "query", False)]


def modes(h, nodes):
    ms = h.members()
    return {name: ms[n.url]["mode_source"] for name, n in nodes.items()}


def test_v5_modes_from_system_servers(cluster):
    h, nodes = start(cluster, "v5", MODES3)
    h.wait_until(lambda: modes(h, nodes) == {"n1": "all (probed)", "n2": "job (probed)",
                                             "n3": "query (probed)"},
                 3, what="probed modes")
    asked = [e for e in probe_log(nodes["n3"]) if e["path"] == "/kylin/api/system/servers"]
    assert asked and all(e["auth"] == "basic" and e["query"] == "ext=true"
                         for e in asked), asked[:3]
    assert set(served_by(h, "POST", "/kylin/api/query", 8, QUERY)) == {"n3"}


@pytest.mark.parametrize("public_mode,creds,source", [
    (True, None, "public_config"),          # kylin.server.mode whitelisted
    (False, "ADMIN:KYLIN", "admin/config"),  # ROLE_ADMIN service account
])
def test_v4_modes_from_config(cluster, public_mode, creds, source):
    h, nodes = start(cluster, "v4", MODES3, creds=creds, public_mode=public_mode)
    h.wait_until(lambda: modes(h, nodes) == {"n1": "all (probed)", "n2": "job (probed)",
                                             "n3": "query (probed)"},
                 3, what="probed modes")
    paths = collections.Counter(e["path"] for e in probe_log(nodes["n2"]))
    assert paths[f"/kylin/api/admin/{source.split('/')[-1]}"] >= 1, paths
    if public_mode:
        assert paths["/kylin/api/admin/config"] == 0, paths
    assert set(served_by(h, "POST", "/kylin/api/query", 8, QUERY)) == {"n3"}


@pytest.mark.parametrize("profile", ["v4", "v5"])
def test_member_mode_overrides_the_probe(cluster, profile):
    """KylinMemberMode wins over what the node says (contract: a probed mode
    wins only if it is absent)."""
    nodes_specs = [("n1", "all", True), ("n2", "query", False), ("n3", "query", False)]
    extra = ["--public-mode"] if profile == "v4" else []
    nodes = {name: cluster.node(name, profile, mode, leader, extra)
             for name, mode, leader in nodes_specs}
    creds = cluster.write_file("probe.creds", "ADMIN:KYLIN\n")
    h = cluster.httpd().start(members=[n.url for n in nodes.values()], directives=(
        PROBE + f"KylinProbeCredentials {creds}\n"
        f"KylinMemberMode {nodes['n3'].url} job\n"))
    h.wait_probed(nodes.values())
    assert modes(h, nodes) == {"n1": "all (probed)", "n2": "query (probed)",
                               "n3": "job (configured)"}
    assert set(served_by(h, "POST", "/kylin/api/query", 8, QUERY)) == {"n2"}


@pytest.mark.parametrize("profile", ["v4", "v5"])
def test_mode_unknown_without_credentials_is_assumed_all(cluster, profile):
    h, nodes = start(cluster, profile, MODES3, creds=None, public_mode=False)
    time.sleep(2 * INTERVAL)
    assert set(modes(h, nodes).values()) == {"all (assumed)"}, modes(h, nodes)
    for n in nodes.values():
        assert not [e for e in n.log() if e["auth"] not in ("anonymous", None)
                    and e["ua"] == PROBE_UA]
    # unknown modes are routed as "all": reads and builds reach every member
    assert set(served_by(h, "GET", "/kylin/api/projects", 12)) == {"n1", "n2", "n3"}


@pytest.mark.parametrize("profile", ["v4", "v5"])
def test_mode_change_is_seen_within_two_intervals(cluster, profile):
    h, nodes = start(cluster, profile, [("n1", "all", True), ("n2", "query", False),
                                        ("n3", "query", False)])
    assert set(served_by(h, "POST", "/kylin/api/query", 8, QUERY)) == {"n2", "n3"}
    t0 = time.time()
    nodes["n3"].control(mode="job")
    h.wait_until(lambda: h.members()[nodes["n3"].url]["mode"] == "job", 3, 0.02,
                 "n3 seen as job")
    took = time.time() - t0
    print(f"\n[{profile}] mode change seen after {took:.3f} s (interval {INTERVAL} s)")
    assert took <= 2 * INTERVAL + 0.2, took
    seen = served_by(h, "POST", "/kylin/api/query", 8, QUERY)
    assert set(seen) == {"n2"}, seen
    assert h.members()[nodes["n3"].url]["passive_nonquery"] is False


# ---- credentials ------------------------------------------------------------

@pytest.mark.parametrize("profile", ["v4", "v5"])
def test_wrong_credentials_are_not_retried_into_a_lockout(cluster, profile):
    """MODELER's password is wrong in the file: the first refusal stops the
    credentials for every member (a Kylin 5 lock-out is cluster-wide and
    comes with the 3rd consecutive failure), the error log says so once, and
    MODELER can still log in with the right password afterwards."""
    cluster.allow_errors(r"refused the credentials")
    specs = [("n1", "all", True), ("n2", "query", False), ("n3", "query", False)]
    h, nodes = start(cluster, profile, specs, creds="MODELER:wrong-password",
                     public_mode=False)
    time.sleep(10 * INTERVAL)
    authed = {name: [e for e in probe_log(n) if e["auth"] not in ("anonymous",)]
              for name, n in nodes.items()}
    counts = {name: len(v) for name, v in authed.items()}
    probes = {name: len([e for e in probe_log(n) if e["path"] == FIRST_PROBE[profile]])
              for name, n in nodes.items()}
    print(f"\n[{profile}] probes carrying the wrong credentials: {counts} "
          f"(probe sets: {probes})")
    assert sum(counts.values()) <= 2, authed
    assert all(e["auth"] == "bad-basic" and e["user"] == "MODELER"
               for v in authed.values() for e in v), authed
    warnings = [l for l in h.read_log().splitlines() if "refused the credentials" in l]
    assert len(warnings) == 1, warnings
    assert "warn" in warnings[0] and "wrong-password" not in warnings[0]
    # members stay in rotation, with the refusal on the status page
    ms = h.members()
    assert all(ms[n.url]["health"] == "up" for n in nodes.values()), ms
    assert {ms[n.url]["credentials"] for n in nodes.values()} == {"refused"}, ms
    # the service account is not locked: a correct login works
    ans = request_node(nodes["n2"], "GET", "/kylin/api/user/authentication",
                       {"Authorization": basic("MODELER", "MODELER")})
    assert ans.status == 200, ans


def request_node(node, method, path, headers):
    import harness
    return harness.request(node.port, method, path, headers=headers)


# ---- passive learning ---------------------------------------------------------

def refusals(results):
    return [a for a in results if a.status in (400, 500)]


def queries(h, n):
    return [h.req("POST", "/kylin/api/query", headers=dict(ADMIN), body=QUERY)
            for _ in range(n)]


@pytest.mark.parametrize("profile", ["v4", "v5"])
def test_job_node_refusing_queries_is_learned(cluster, profile):
    """KylinMemberMode says n2 serves queries, but it runs as a job node: its
    first refusal marks it non-query, and later queries avoid it."""
    extra = ["--public-mode"] if profile == "v4" else []
    nodes = {name: cluster.node(name, profile, mode, leader, extra) for name, mode, leader
             in [("n1", "all", True), ("n2", "job", False), ("n3", "query", False)]}
    creds = cluster.write_file("probe.creds", "ADMIN:KYLIN\n")
    h = cluster.httpd().start(members=[n.url for n in nodes.values()], directives=(
        PROBE + f"KylinProbeCredentials {creds}\n"
        f"KylinMemberMode {nodes['n2'].url} query\n"))
    h.wait_probed(nodes.values())
    h.wait_until(lambda: h.members()[nodes["n3"].url]["mode"] == "query", 3)
    n2 = nodes["n2"].url
    assert h.members()[n2]["mode_source"] == "query (configured)"
    assert h.members()[n2]["passive_nonquery"] is False
    first = queries(h, 6)
    refused = refusals(first)
    print(f"\n[{profile}] answers while learning: "
          f"{[(a.status, a.node) for a in first]}")
    assert len(refused) == 1 and refused[0].node == "n2", first
    assert h.members()[n2]["passive_nonquery"] is True
    later = queries(h, 10)
    assert {a.node for a in later} == {"n3"} and not refusals(later), later
    assert "refused queries" in h.get("/kylin-balancer").body


@pytest.mark.parametrize("profile", ["v4", "v5"])
def test_mode_flip_between_probes_is_learned(cluster, profile):
    """The node turns into a job node long before the next probe (interval
    30 s): its first refusal is enough."""
    h, nodes = start(cluster, profile, [("n1", "all", True), ("n2", "query", False),
                                        ("n3", "query", False)],
                     directives="KylinProbeInterval 30s\nKylinProbeTimeout 1s\n")
    assert set(served_by(h, "POST", "/kylin/api/query", 6, QUERY)) == {"n2", "n3"}
    nodes["n2"].control(mode="job")
    answers = queries(h, 12)
    refused = refusals(answers)
    assert len(refused) == 1 and refused[0].node == "n2", answers
    assert {a.node for a in answers[answers.index(refused[0]) + 1:]} == {"n3"}
    m = h.members()[nodes["n2"].url]
    assert m["passive_nonquery"] is True and m["mode"] == "query", m


def test_v5_cluster_errors_reach_the_status_page(cluster):
    # maintenance mode (cluster-wide): writes answer KE-040024201
    h, nodes = start(cluster, "v5", [("n1", "all", True), ("n2", "all", False)])
    nodes["n1"].control(maintenance=True, maintenance_reason="upgrade")
    ans = h.req("POST", "/kylin/api/projects", headers=dict(ADMIN),
                body={"name": "p1"})
    assert ans.status == 500 and "KE-040024201" in ans.body, ans
    m = h.members()
    assert m[nodes[ans.node].url]["cluster_error"] == "KE-040024201", m
    # the probe reads the flag too
    h.wait_until(lambda: all(x["maintenance"] for x in h.members().values()), 3,
                 what="maintenance seen by the probes")


def test_v5_no_active_leader_reaches_the_status_page(cluster):
    # only query nodes: a write is forwarded nowhere, KE-010021004
    h, nodes = start(cluster, "v5", [("q1", "query", False), ("q2", "query", False)])
    ans = h.req("POST", "/kylin/api/projects", headers=dict(ADMIN),
                body={"name": "p1"})
    assert ans.status == 500 and "KE-010021004" in ans.body, ans
    assert h.members()[nodes[ans.node].url]["cluster_error"] == "KE-010021004"
    html = h.get("/kylin-balancer").body
    assert "KE-010021004" in html


# ---- the status page ------------------------------------------------------------

def test_status_page_is_fast_and_well_formed_with_20_members(cluster):
    import harness
    sims = [cluster.node(f"n{i}", "v4", "query" if i % 2 else "all", i == 0,
                         ["--public-mode"]) for i in range(5)]
    # the other 15 members point at ports nobody listens on
    dead = [f"http://127.0.0.1:{harness.free_port()}" for _ in range(15)]
    first = [s.url for s in sims[:3]] + dead[:9]             # 12 members
    second = [s.url for s in sims[3:]] + dead[9:]            # 8 members
    body = ('<Proxy "balancer://other">\n'
            + "".join(f'    BalancerMember "{u}"\n' for u in second)
            + "    ProxySet lbmethod=kylin\n</Proxy>\n"
            'ProxyPass "/other" "balancer://other/kylin"\n')
    h = cluster.httpd().start(members=first, directives=PROBE, body=body)
    h.wait_until(lambda: sum(len(b["members"]) for b in h.status()["balancers"]) == 20
                 and all(m["health"] != "unknown" for b in h.status()["balancers"]
                         for m in b["members"]), 5, what="20 probed members")
    conn = http.client.HTTPConnection("127.0.0.1", h.port, timeout=5)
    times = []
    for i in range(60):                 # 10 warm-up, 50 measured
        t0 = time.perf_counter()
        conn.request("GET", "/kylin-balancer?format=json")
        resp = conn.getresponse()
        data = resp.read()
        if i >= 10:
            times.append((time.perf_counter() - t0) * 1000)
        assert resp.status == 200
    conn.close()
    doc = json.loads(data)
    assert [len(b["members"]) for b in doc["balancers"]] == [12, 8]
    server = [int(l.rsplit(" ", 1)[1]) / 1000 for l in open(h.access_log)
              if "/kylin-balancer?format=json" in l][-50:]
    med, p90 = statistics.median(times), sorted(times)[44]
    print(f"\n[status page, 20 members] client median {med:.2f} ms, p90 {p90:.2f} "
          f"ms; server (%D) median {statistics.median(server):.2f} ms; "
          f"{len(data)} bytes")
    assert med < 5.0, times
    # HTML: one table per balancer; XML: well-formed, every member listed
    html = h.get("/kylin-balancer")
    assert html.body.count("<table") == 2, html.body[:500]
    assert "balancer://kylin</h2>" in html.body and "balancer://other</h2>" in html.body
    root = ET.fromstring(h.get("/kylin-balancer?format=xml").body.encode())
    assert root.tag == "kylin-balancer"
    assert {b.get("name"): len(b.findall("member")) for b in root.findall("balancer")} \
        == {"balancer://kylin": 12, "balancer://other": 8}
    health = collections.Counter(m.findtext("health") for m in root.iter("member"))
    assert health == {"up": 5, "down": 15}, health
    dead = [m for m in root.iter("member") if m.get("name") == dead[0]][0]
    assert "connect" in dead.findtext("error"), ET.tostring(dead)


def test_prober_survives_the_death_of_its_child(cluster):
    """The child that runs the prober dies (SIGKILL): another child takes the
    watchdog over and probes go on at the same pace; a member that dies
    afterwards still leaves rotation.  mod_watchdog itself waits 10 x
    AP_WD_TM_INTERVAL (1 s) after taking a singleton over, so there is a
    gap of about 11 s, during which the last results must still hold."""
    cluster.allow_errors(r"AH00052: child pid \d+ exit signal Killed")
    h, nodes = start(cluster, "v4", [("n1", "all", True), ("n2", "query", False)])
    lines = [l for l in h.read_log().splitlines() if "in rotation" in l]
    prober = int(re.search(r"\[pid (\d+)", lines[0]).group(1))
    assert prober in h.children(), (prober, h.children())
    seq = nodes["n1"].state()["requests"] + 1
    os.kill(prober, signal.SIGKILL)
    t_kill = time.time()

    def resumed():
        return [e for e in probe_log(nodes["n1"], seq)
                if e["path"] == FIRST_PROBE["v4"] and e["t"] > t_kill + 0.05]

    bad = []

    def view():     # meanwhile, the last results still hold (no "unknown")
        ms = h.members()
        if {(m["health"], m["mode"]) for m in ms.values()} != {("up", "all"),
                                                               ("up", "query")}:
            bad.append((round(time.time() - t_kill, 1), ms))
        return resumed()
    first = h.wait_until(view, 20, 0.2, "probes after the takeover")[0]
    assert not bad, bad[:2]
    gap = first["t"] - t_kill
    t0 = time.time()
    time.sleep(10 * INTERVAL)
    rate = len([e for e in resumed() if e["t"] >= t0]) * INTERVAL / (time.time() - t0)
    print(f"\n[watchdog child killed] probes resumed after {gap:.1f} s, then "
          f"{rate:.2f} probe sets per interval")
    assert gap < 14, gap
    assert 0.7 <= rate <= 1.1, rate
    nodes["n2"].kill()
    h.wait_until(lambda: h.members()[nodes["n2"].url]["health"] == "down", 3, 0.05,
                 "n2 down after the takeover")
