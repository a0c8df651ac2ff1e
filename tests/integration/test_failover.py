"""Failover (contract.md "Routing", anchors.md 1.3): a killed or frozen member
leaves rotation within KylinProbeInterval + KylinProbeTimeout and rejoins after
one good probe; a steady stream of clients sees no failure once the member is
out (and none at all for a killed member: httpd retries a refused connection on
another member of the same class); a graceful restart keeps what the prober
learned and drops no request.

Timings are measured on the status page (?format=json, health "down"/"up")
and printed; run with -s to see them."""
import collections
import time

import pytest

import harness
from harness import basic

ADMIN = {"Authorization": basic("ADMIN", "KYLIN")}
QUERY = {"sql": "select 1", "project": "learn_kylin"}
INTERVAL, TIMEOUT = 0.4, 0.3
TICK = 0.1                      # mod_watchdog's AP_WD_TM_SLICE
MARGIN = 0.35                   # status polling, a busy 2-core machine
PROBE = (f"KylinProbeInterval {int(INTERVAL * 1000)}ms\n"
         f"KylinProbeTimeout {int(TIMEOUT * 1000)}ms\n"
         # a request stuck on a frozen node gives up after 2 s (502)
         "ProxyTimeout 2\n")
# httpd's own report of a refused connection (and of the worker it disables)
REFUSED = (r"AH00957: .*Connection refused|AH00957: http: attempt to connect",
           r"AH00959: ap_proxy_connect_backend disabling worker",
           r"AH01114: HTTP: failed to make connection")
# ... and of a request cut short by the member's death (counted by the tests)
# (a member frozen between its status line and its body: AH01110)
CUT = (r"AH01102: error reading status line", r"AH00898: Error reading from remote",
       r"AH01110: error reading response")
# n1 takes builds, n2 and n3 queries: losing n3 leaves one query member.
NODES = [("n1", "all", True), ("n2", "query", False), ("n3", "query", False)]


def start_cluster(cluster, profile, specs=NODES, directives=PROBE):
    extra = ["--public-mode"] if profile == "v4" else []
    nodes = {name: cluster.node(name, profile, mode, leader, extra)
             for name, mode, leader in specs}
    creds = cluster.write_file("probe.creds", "ADMIN:KYLIN\n")
    h = cluster.httpd().start(members=[n.url for n in nodes.values()],
                              directives=directives
                              + f"KylinProbeCredentials {creds}\n")
    h.wait_probed(nodes.values())
    return h, nodes


def Stream(h, **kw):
    """harness.Stream with the admin's Basic credentials on every request."""
    return harness.Stream(h, headers=ADMIN, **kw)


def health(h, node):
    return h.members()[node.url]["health"]


def wait_health(h, node, want, timeout=10.0, poll=0.02):
    """Polls the status page; returns the time `want` was first seen."""
    end = time.time() + timeout
    while time.time() < end:
        if health(h, node) == want:
            return time.time()
        time.sleep(poll)
    raise AssertionError(f"{node.name} not {want} after {timeout} s: "
                         f"{h.members()[node.url]}")


def served_by(h, method, path, n, body=None):
    return harness.served_by(h, method, path, n, body, ADMIN)


@pytest.mark.parametrize("profile", ["v4", "v5"])
def test_killed_member_leaves_and_rejoins_without_failed_requests(cluster, profile):
    cluster.allow_errors(*REFUSED, *CUT)
    h, nodes = start_cluster(cluster, profile)
    n3 = nodes["n3"]
    with Stream(h) as stream:
        time.sleep(1.0)
        t_kill = time.time()
        n3.kill()
        t_killed = time.time()
        t_down = wait_health(h, n3, "down")
        time.sleep(1.0)
        t_restart0 = time.time()
        n3.start()
        t_restart = time.time()
        t_up = wait_health(h, n3, "up")
        time.sleep(1.0)
    left, rejoin = t_down - t_kill, t_up - t_restart
    print(f"\n[{profile} kill] interval {INTERVAL} s, timeout {TIMEOUT} s: left "
          f"rotation after {left:.3f} s, rejoined {rejoin:.3f} s after the "
          f"restarted node was ready (start took {t_restart - t_restart0:.3f} s)")
    counts = stream.report(f"{profile} kill", [
        ("before", 0, t_kill), ("kill->down", t_kill, t_down),
        ("down->restart", t_down, t_restart), ("restart->up", t_restart, t_up),
        ("after rejoin", t_up, float("inf"))])
    assert left <= INTERVAL + TIMEOUT + TICK + MARGIN, left
    assert rejoin <= INTERVAL + TICK + MARGIN, rejoin
    # A refused connection is retried on another member, so the only requests
    # that may fail are those n3 was answering when it died (httpd cannot
    # know whether they were processed): at most one per client thread.
    failed = stream.failed(stream.results)
    in_flight = [r for r in failed if r.start <= t_killed and r.end >= t_kill]
    print(f"[{profile} kill] failed requests: {len(failed)}, of which in flight "
          f"on n3 when it was killed: {len(in_flight)}")
    assert failed == in_flight, (counts, failed)
    assert len(in_flight) <= len(stream.kinds), in_flight
    queries = [r for r in stream.results if r.kind == "query" and r.status == 200]
    assert {r.node for r in queries} <= {"n2", "n3"}, collections.Counter(
        r.node for r in queries)
    assert {r.node for r in stream.between(t_down, t_restart0)} <= {"n1", "n2"}
    # back in rotation: n3 serves queries again, in turn with n2 (the busy
    # period before leaves no round-robin debt that would starve one of them)
    seen = served_by(h, "POST", "/kylin/api/query", 10, QUERY)
    assert seen["n2"] >= 3 and seen["n3"] >= 3, (seen, {
        n.name: h.members()[n.url]["lbstatus"] for n in nodes.values()})


@pytest.mark.parametrize("profile", ["v4", "v5"])
def test_frozen_member_leaves_and_rejoins(cluster, profile):
    cluster.allow_errors(*CUT)
    h, nodes = start_cluster(cluster, profile)
    n3 = nodes["n3"]
    with Stream(h) as stream:
        time.sleep(1.0)
        t_freeze = time.time()
        n3.freeze()
        try:
            t_down = wait_health(h, n3, "down")
            time.sleep(2.5)       # requests stuck on n3 time out (ProxyTimeout 2)
        finally:
            t_thaw = time.time()
            n3.thaw()
        t_up = wait_health(h, n3, "up")
        time.sleep(1.0)
    left, rejoin = t_down - t_freeze, t_up - t_thaw
    print(f"\n[{profile} freeze] interval {INTERVAL} s, timeout {TIMEOUT} s: left "
          f"rotation after {left:.3f} s, rejoined {rejoin:.3f} s after SIGCONT")
    counts = stream.report(f"{profile} freeze", [
        ("before", 0, t_freeze), ("freeze->down", t_freeze, t_down),
        ("down->thaw", t_down, t_thaw), ("after thaw", t_thaw, float("inf"))])
    # stuck: sent before n3 left rotation and still open when it froze
    stuck = stream.failed([r for r in stream.results
                           if r.start < t_down and r.end >= t_freeze])
    print(f"[{profile} freeze] requests stuck on the frozen node: "
          f"{[(r.kind, r.status, round(r.end - r.start, 2)) for r in stuck]}")
    assert left <= INTERVAL + TIMEOUT + TICK + MARGIN, left
    assert rejoin <= INTERVAL + TIMEOUT + TICK + MARGIN, rejoin
    assert not stream.failed([r for r in stream.results if r.end < t_freeze])
    # once out of rotation, nothing fails and nothing goes to n3
    after = stream.between(t_down, float("inf"))
    assert not stream.failed(after), stream.failed(after)
    assert "n3" not in {r.node for r in stream.between(t_down, t_thaw)}
    # only what was sent to n3 before it left can fail, and at most one
    # request per client thread can be stuck there (least busy wins)
    assert len(stuck) <= len(stream.kinds), stuck
    seen = served_by(h, "POST", "/kylin/api/query", 10, QUERY)
    assert seen["n2"] >= 3 and seen["n3"] >= 3, seen


@pytest.mark.parametrize("profile", ["v4", "v5"])
def test_refused_connection_is_retried_on_same_class(cluster, profile):
    """Before the prober notices (long interval), httpd's own failover sends a
    request that met a refused connection to another member, of the same
    class for queries: never to the job node."""
    specs = [("n1", "job", True), ("n2", "query", False), ("n3", "query", False)]
    cluster.allow_errors(*REFUSED)
    h, nodes = start_cluster(cluster, profile, specs,
                             "KylinProbeInterval 30s\nKylinProbeTimeout 1s\n")
    nodes["n3"].kill()
    queries = served_by(h, "POST", "/kylin/api/query", 12, QUERY)
    reads = served_by(h, "GET", "/kylin/api/projects", 12)
    assert set(queries) == {"n2"}, queries
    assert set(reads) <= {"n1", "n2"} and reads["n1"] >= 3, reads
    # the prober did not notice yet: this was httpd's retry, not ours
    assert health(h, nodes["n3"]) == "up"
    assert "Err" in h.members()[nodes["n3"].url]["httpd_status"]


@pytest.mark.parametrize("profile", ["v4", "v5"])
def test_graceful_restart_keeps_state_and_requests(cluster, profile):
    h, nodes = start_cluster(cluster, profile)
    want = {"n1": ("all", "up"), "n2": ("query", "up"), "n3": ("query", "up")}
    log_before = len(h.read_log())
    with Stream(h, pause=0.005) as stream:
        time.sleep(0.5)
        t_restart = time.time()
        h.graceful()
        t_new = None
        samples = []            # (seconds after SIGUSR1, view) until +2.5 s
        while time.time() < t_restart + 2.5:
            if t_new is None and "resuming normal operations" in h.read_log()[log_before:]:
                t_new = time.time()
            try:
                ms = h.members()
            except OSError:
                continue
            samples.append((time.time() - t_restart, {
                n.name: (ms[n.url]["mode"], ms[n.url]["health"])
                for n in nodes.values()}))
            time.sleep(0.02)
        time.sleep(0.3)
    counts = stream.report(f"{profile} graceful", [
        ("before", 0, t_restart), ("after", t_restart, float("inf"))])
    assert t_new is not None, h.read_log()[log_before:]
    slow = max(stream.between(t_restart, t_restart + 2.5), key=lambda r: r.end - r.start)
    print(f"[{profile} graceful] slowest request around the restart: "
          f"{slow.kind} {slow.end - slow.start:.3f} s (sent at +{slow.start - t_restart:.3f} s)")
    after = [(t, v) for t, v in samples if t >= t_new - t_restart]
    print(f"[{profile} graceful] new generation after {t_new - t_restart:.3f} s; "
          f"{len(after)} status samples after it, first: {after[:1]}")
    assert len(after) >= 10, samples
    bad = [(t, v) for t, v in samples if v != want]
    assert not bad, bad         # never "unknown", never a forgotten mode
    assert not stream.failed(stream.results), stream.failed(stream.results)
    assert counts["after"]["query"][1] >= 10, counts
