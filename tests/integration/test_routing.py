"""Kylin-aware routing (contract.md "Routing"): queries only to query-capable
members, builds to the job engine's leader, reads everywhere, internal
endpoints refused, and the state learned by the background prober."""
import collections
import concurrent.futures
import threading
import time

import pytest

import harness
from harness import basic

ADMIN = {"Authorization": basic("ADMIN", "KYLIN")}
QUERY = {"sql": "select 1", "project": "learn_kylin"}
INTERVAL = 0.3        # s, before KYL_TIME_SCALE
PROBE = f"KylinProbeInterval {harness.ms(INTERVAL)}\nKylinProbeTimeout {harness.ms(0.25)}\n"


def start_cluster(cluster, profile, specs, directives=PROBE, creds=True):
    """specs: [(name, mode, leader)] -> (httpd, {name: node})."""
    extra = ["--public-mode"] if profile == "v4" else []
    nodes = {name: cluster.node(name, profile, mode, leader, extra)
             for name, mode, leader in specs}
    if creds:
        path = cluster.write_file("probe.creds", "ADMIN:KYLIN\n")
        directives += f"KylinProbeCredentials {path}\n"
    h = cluster.httpd().start(members=[n.url for n in nodes.values()],
                              directives=directives)
    h.wait_probed(nodes.values())
    return h, nodes


def served_by(h, method, path, n, body=None, headers=ADMIN):
    return harness.served_by(h, method, path, n, body, headers)


FOUR = [("n1", "all", True), ("n2", "job", False), ("n3", "query", False),
        ("n4", "query", False)]


@pytest.mark.parametrize("profile", ["v4", "v5"])
def test_queries_go_to_query_nodes_only(cluster, profile):
    h, nodes = start_cluster(cluster, profile, FOUR)
    seen = served_by(h, "POST", "/kylin/api/query", 20, body=QUERY)
    assert set(seen) == {"n3", "n4"}, seen
    assert min(seen.values()) >= 5, seen       # both used


@pytest.mark.parametrize("profile", ["v4", "v5"])
def test_queries_fall_back_to_all_never_job(cluster, profile):
    h, nodes = start_cluster(cluster, profile, FOUR)
    nodes["n3"].kill()
    nodes["n4"].kill()
    h.wait_until(lambda: all(h.members()[nodes[n].url]["health"] == "down"
                             for n in ("n3", "n4")), 5, what="n3, n4 down")
    seen = served_by(h, "POST", "/kylin/api/query", 10, body=QUERY)
    assert set(seen) == {"n1"}, seen


def test_builds_follow_the_leader(cluster):
    h, nodes = start_cluster(cluster, "v4", FOUR)
    seen = served_by(h, "PUT", "/kylin/api/cubes/c1/rebuild", 6,
                     body={"startTime": 0, "endTime": 1, "buildType": "BUILD"})
    assert set(seen) == {"n1"}, seen
    nodes["n1"].control(leader=False)
    nodes["n2"].control(leader=True)
    t0 = time.time()
    h.wait_until(lambda: h.members()[nodes["n2"].url]["leader"] == "yes"
                 and h.members()[nodes["n1"].url]["leader"] != "yes", harness.scaled(5),
                 what="n2 leader, n1 not")
    assert time.time() - t0 < 2 * harness.scaled(INTERVAL) + 0.5   # two probe intervals
    seen = served_by(h, "PUT", "/kylin/api/jobs/j1/resume", 6)
    assert set(seen) == {"n2"}, seen


def test_leadership_moves_under_build_load(cluster):
    """Builds keep coming while the job-engine leadership moves from n1 to
    n2: none fails, none reaches a query node, every build started before
    the move goes to n1, and every build started once the prober has seen
    it (the status page shows it) goes to n2."""
    h, nodes = start_cluster(cluster, "v4", FOUR)
    stop = threading.Event()
    log = []            # (start time, node, status) of every build

    def builds():
        while not stop.is_set():
            t = time.time()
            a = h.req("PUT", "/kylin/api/jobs/j1/resume", headers=dict(ADMIN))
            log.append((t, a.node, a.status))

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        clients = [pool.submit(builds) for _ in range(4)]
        time.sleep(harness.scaled(1.0))
        moved = time.time()
        nodes["n1"].control(leader=False)
        nodes["n2"].control(leader=True)
        h.wait_until(lambda: h.members()[nodes["n2"].url]["leader"] == "yes"
                     and h.members()[nodes["n1"].url]["leader"] != "yes",
                     harness.scaled(5), interval=0.02, what="n2 leader, n1 not")
        seen = time.time()
        time.sleep(harness.scaled(1.0))
        stop.set()
        for c in clients:
            c.result()
    by_status = collections.Counter(st for _, _, st in log)
    before = collections.Counter(n for t, n, _ in log if t < moved)
    during = collections.Counter(n for t, n, _ in log if moved <= t <= seen)
    after = collections.Counter(n for t, n, _ in log if t > seen)
    print(f"\n{len(log)} builds; before {dict(before)}, while the prober "
          f"learned ({seen - moved:.2f} s) {dict(during)}, after {dict(after)}")
    assert by_status == {200: len(log)}, by_status
    assert set(before) == {"n1"} and set(after) == {"n2"}, (before, during, after)
    assert set(during) <= {"n1", "n2"}, during


def test_reads_spread_over_all_usable(cluster):
    h, nodes = start_cluster(cluster, "v4", FOUR)
    seen = served_by(h, "GET", "/kylin/api/projects", 40)
    assert set(seen) == {"n1", "n2", "n3", "n4"}, seen


def test_round_robin_resumes_after_a_busy_period(cluster):
    """Least busy first, then round robin: while n4 is slow, the least busy
    rule sends most queries to n3; once n4 is fast again, queries alternate
    at once (no round-robin debt from the busy period)."""
    h, nodes = start_cluster(cluster, "v4", FOUR)
    nodes["n4"].control(delay_ms=150)
    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        burst = collections.Counter(pool.map(
            lambda _: h.req("POST", "/kylin/api/query", headers=dict(ADMIN),
                            body=QUERY).node, range(60)))
    assert burst["n3"] > 2 * burst["n4"], burst
    nodes["n4"].control(delay_ms=0)
    seen = served_by(h, "POST", "/kylin/api/query", 10, body=QUERY)
    assert seen == {"n3": 5, "n4": 5}, (burst, seen)


def test_loadfactor_weights_the_round_robin(cluster):
    """BalancerMember loadfactor weighs the round robin within a tier, as
    under byrequests: n4 (loadfactor 3) gets three queries for each of n3's,
    and members of other tiers get none."""
    nodes = {name: cluster.node(name, "v4", mode, leader, ["--public-mode"])
             for name, mode, leader in FOUR}
    weights = {"n3": 1, "n4": 3}
    members = [(n.url, f"loadfactor={weights[name]}") if name in weights else n.url
               for name, n in nodes.items()]
    path = cluster.write_file("probe.creds", "ADMIN:KYLIN\n")
    h = cluster.httpd().start(members=members,
                              directives=PROBE + f"KylinProbeCredentials {path}\n")
    h.wait_probed(nodes.values())
    # 30/10 exactly when every member is idle at each pick; the previous
    # request may still count as busy for a moment (httpd decrements after
    # answering), and the least busy member then wins one out of turn: a
    # short gap between requests keeps that rare, even under valgrind
    seen = harness.served_by(h, "POST", "/kylin/api/query", 40, QUERY, ADMIN, gap=0.03)
    assert set(seen) == {"n3", "n4"}, seen
    assert seen["n4"] >= 2 * seen["n3"] and seen["n3"] >= 5, seen


def test_no_query_member_is_503_json(cluster):
    cluster.allow_errors(r"no usable member for query")
    h, nodes = start_cluster(cluster, "v4", [("n1", "job", True), ("n2", "job", False)])
    ans = h.req("POST", "/kylin/api/query", headers=ADMIN, body=QUERY)
    assert ans.status == 503, ans
    assert ans.headers["content-type"].startswith("application/json")
    assert ans.json()["class"] == "query"


INTERNAL = {
    "v4": ["/kylin/api/cache/all/all/update", "/kylin/api//cache/x", "/kylin/api/%63ache/x",
           "/kylin/api/cache_announce/x",
           "/kylin/api/service_discovery/state/is_active_job_node",
           "/kylin/api/streaming_coordinator/cube/c1/assign"],
    "v5": ["/kylin/api/broadcast", "/kylin/api/broadcast/notify",
           "/kylin/api/epoch", "/kylin/api/epoch/all", "/kylin/api/epoch/maintenance_mode",
           "/kylin/api/cache/x", "/kylin/api/user/update_user",
           "/kylin/api/system/broadcast_metadata_backup",
           "/kylin/api/kg/health/instance_info"],
}


@pytest.mark.parametrize("profile", ["v4", "v5"])
def test_internal_endpoints_are_403(cluster, profile):
    h, nodes = start_cluster(cluster, profile, FOUR)
    for n in nodes.values():
        n.clear_log()
    for path in INTERNAL[profile]:
        for method in ("GET", "POST", "PUT", "DELETE"):
            ans = h.req(method, path, headers=ADMIN,
                        body=None if method in ("GET", "DELETE") else {"x": 1})
            assert ans.status == 403, (method, path, ans)
            assert ans.headers["content-type"].startswith("application/json")
            assert ans.json()["class"] == "internal", (method, path, ans)
            assert ans.node is None
    for n in nodes.values():
        assert not [e for e in n.log() if e["ua"] != "mod_kylin_balancer-probe"], n.log()


def test_internal_endpoints_pass_when_allowed(cluster):
    h, nodes = start_cluster(cluster, "v5", FOUR, PROBE + "KylinAllowInternal On\n")
    ans = h.req("POST", "/kylin/api/broadcast", headers=ADMIN, body={"x": 1})
    assert ans.status == 200 and ans.node in nodes, ans
    # node-to-node traffic goes to all/job members, like writes
    assert ans.node in ("n1", "n2"), ans


def test_no_member_left_is_503_json_naming_the_class(cluster):
    cluster.allow_errors(r"no usable member for (read|query)")
    h, nodes = start_cluster(cluster, "v4", [("n1", "all", True), ("n2", "query", False)])
    for n in nodes.values():
        n.kill()
    h.wait_probed(nodes.values(), healthy=False)
    for method, path, cls in [("GET", "/kylin/api/projects", "read"),
                              ("POST", "/kylin/api/query", "query")]:
        ans = h.req(method, path, headers=ADMIN, body=QUERY if method == "POST" else None)
        assert ans.status == 503, ans
        doc = ans.json()
        assert doc["class"] == cls and doc["balancer"] == "balancer://kylin", doc
        assert cls in doc["message"] and "retry-after" in ans.headers


def test_byrequests_balancer_is_left_alone(cluster):
    """lbmethod=byrequests: no probes, no status entries, no classification
    (a query may reach the job node, internal paths are not ours to refuse),
    no crash; a kylin balancer beside it keeps working."""
    extra = ["--public-mode"]
    plain = [cluster.node(f"p{i}", "v4", mode, False, extra)
             for i, mode in enumerate(["job", "query"])]
    kylin = [cluster.node(f"k{i}", "v4", mode, i == 0, extra)
             for i, mode in enumerate(["all", "query"])]
    h = cluster.httpd().start(members=[n.url for n in plain], lbmethod="byrequests",
                              directives=PROBE)
    # byrequests: both in turn, the job node too (it refuses the query)
    answers = [h.req("POST", "/kylin/api/query", headers=ADMIN, body=QUERY)
               for _ in range(6)]
    assert collections.Counter((a.node, a.status) for a in answers) \
        == {("p0", 400): 3, ("p1", 200): 3}, answers
    assert h.req("PUT", "/kylin/api/cache/x", headers=ADMIN).status == 200
    assert h.status()["balancers"] == []
    assert "<table" not in h.get("/kylin-balancer").body
    time.sleep(harness.scaled(0.7))
    assert not [e for n in plain for e in n.log() if e["ua"] == "mod_kylin_balancer-probe"]
    h.stop()
    # both kinds side by side
    body = ('<Proxy "balancer://plain">\n'
            + "".join(f'    BalancerMember "{n.url}"\n' for n in plain)
            + "    ProxySet lbmethod=byrequests\n</Proxy>\n"
            'ProxyPass "/plain" "balancer://plain/kylin"\n')
    h2 = cluster.httpd().start(members=[n.url for n in kylin], directives=PROBE, body=body)
    h2.wait_probed(kylin)
    assert [b["name"] for b in h2.status()["balancers"]] == ["balancer://kylin"]
    assert set(served_by(h2, "POST", "/kylin/api/query", 6, body=QUERY)) == {"k1"}
    plain_seen = collections.Counter(
        h2.req("POST", "/plain/api/query", headers=ADMIN, body=QUERY).node for _ in range(6))
    assert set(plain_seen) == {"p0", "p1"}, plain_seen
    assert h2.req("PUT", "/plain/api/cache/x", headers=ADMIN).status == 200
    assert not [e for n in plain for e in n.log() if e["ua"] == "mod_kylin_balancer-probe"]


def test_routed_header_never_reaches_a_node(cluster):
    h, nodes = start_cluster(cluster, "v5", FOUR)
    for n in nodes.values():
        n.clear_log()
    for _ in range(8):
        ans = h.req("POST", "/kylin/api/models/m1/segments",
                    headers=dict(ADMIN, routed="true"), body={"project": "p"})
        assert ans.status == 200, ans
    entries = [e for n in nodes.values() for e in n.log()
               if e["path"].startswith("/kylin/api/models")]
    assert entries and not any(e["routed"] for e in entries)


def test_ui_routes_are_reads(cluster):
    h, nodes = start_cluster(cluster, "v4", FOUR)
    seen = served_by(h, "GET", "/kylin/jobs", 20, headers={})
    assert len(seen) >= 3, seen


def test_status_page_formats(cluster):
    h, nodes = start_cluster(cluster, "v4", FOUR)
    st = h.members()
    assert st[nodes["n1"].url]["leader"] == "yes"
    assert st[nodes["n3"].url]["mode"] == "query"
    assert st[nodes["n2"].url]["generation"] == "4.x"
    html = h.get("/kylin-balancer")
    assert html.status == 200 and "text/html" in html.headers["content-type"]
    assert nodes["n3"].url in html.body
    xml = h.get("/kylin-balancer?format=xml")
    assert xml.status == 200 and "<member name=" in xml.body


def test_members_written_with_a_path(cluster):
    """BalancerMember http://h:p/kylin + ProxyPass /kylin balancer://kylin:
    the class comes from the path the node sees, so queries still avoid the
    job node and internal endpoints are still refused."""
    nodes = {name: cluster.node(name, "v4", mode, leader, ["--public-mode"])
             for name, mode, leader in [("n1", "job", True), ("n2", "query", False)]}
    h = cluster.httpd()
    h.start(directives=PROBE + f"""
<Proxy "balancer://kp">
    BalancerMember "{nodes['n1'].url}/kylin"
    BalancerMember "{nodes['n2'].url}/kylin"
    ProxySet lbmethod=kylin
</Proxy>
ProxyPass "/kylin-balancer" "!"
ProxyPass "/kylin" "balancer://kp"
<Location "/kylin-balancer">
    SetHandler kylin-balancer
</Location>
""")
    h.wait_until(lambda: all(m["health"] == "up" for b in h.status()["balancers"]
                             for m in b["members"]), 10, what="probes")
    seen = served_by(h, "POST", "/kylin/api/query", 6, body=QUERY)
    assert set(seen) == {"n2"}, seen
    assert h.req("PUT", "/kylin/api/cache/all/all/update", headers=ADMIN).status == 403
