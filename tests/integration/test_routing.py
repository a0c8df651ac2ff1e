"""Kylin-aware routing (contract.md "Routing"): queries only to query-capable
members, builds to the job engine's leader, reads everywhere, internal
endpoints refused, and the state learned by the background prober."""
import collections
import time

import pytest

from harness import basic

ADMIN = {"Authorization": basic("ADMIN", "KYLIN")}
QUERY = {"sql": "select 1", "project": "learn_kylin"}
PROBE = "KylinProbeInterval 300ms\nKylinProbeTimeout 250ms\n"


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
    seen = collections.Counter()
    for _ in range(n):
        ans = h.req(method, path, headers=dict(headers), body=body)
        assert ans.status == 200, ans
        seen[ans.node] += 1
    return seen


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
    h.wait_until(lambda: h.members()[nodes["n2"].url]["leader"] == "yes", 5,
                 what="n2 leader")
    assert time.time() - t0 < 2 * 0.3 + 0.5   # within two probe intervals
    seen = served_by(h, "PUT", "/kylin/api/jobs/j1/resume", 6)
    assert set(seen) == {"n2"}, seen


def test_reads_spread_over_all_usable(cluster):
    h, nodes = start_cluster(cluster, "v4", FOUR)
    seen = served_by(h, "GET", "/kylin/api/projects", 40)
    assert set(seen) == {"n1", "n2", "n3", "n4"}, seen


def test_no_query_member_is_503_json(cluster):
    cluster.allow_errors(r"no usable member for query")
    h, nodes = start_cluster(cluster, "v4", [("n1", "job", True), ("n2", "job", False)])
    ans = h.req("POST", "/kylin/api/query", headers=ADMIN, body=QUERY)
    assert ans.status == 503, ans
    assert ans.headers["content-type"].startswith("application/json")
    assert ans.json()["class"] == "query"


def test_internal_endpoints_are_403(cluster):
    h, nodes = start_cluster(cluster, "v4", FOUR)
    for path in ["/kylin/api/cache/all/all/update", "/kylin/api//cache/x",
                 "/kylin/api/%63ache/x",
                 "/kylin/api/service_discovery/state/is_active_job_node"]:
        ans = h.req("PUT", path, headers=ADMIN)
        assert ans.status == 403, (path, ans)
        assert ans.json()["class"] == "internal"
    for n in nodes.values():
        assert not [e for e in n.log() if "cache" in e["path"]]


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
