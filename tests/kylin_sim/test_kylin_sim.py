"""Tests of the Kylin node simulator against kylin-rest.md (section numbers in
docstrings). Only http.client is used to talk to the nodes."""

import base64
import http.client
import os
import re
import signal
import socket
import time

import pytest

from sim_store import session_cookie_name

PROFILES = ["v4", "v5"]
V4 = "application/vnd.apache.kylin-v4+json"
V4P = "application/vnd.apache.kylin-v4-public+json"
JSON = "application/json"
COOKIE5 = "7c6c6e3e5daa430f9b9005890733664cf6e995d4ff23aa6b8043935382df64b6"


def basic(user="ADMIN", password="KYLIN"):
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": "Basic " + token}


def hdrs(profile, *extra, accept=None):
    """Headers a well-behaved client of `profile` sends, merged with `extra`."""
    out = {"Accept": accept or (V4 if profile == "v5" else JSON), "User-Agent": "sim-test"}
    for e in extra:
        out.update(e)
    return out


def set_cookie(res, name):
    """Value of cookie `name` in the response's Set-Cookie headers, or None."""
    for c in res.cookies():
        n, _, rest = c.partition("=")
        if n == name:
            return rest.split(";")[0]
    return None


def cookie_name(profile):
    return "JSESSIONID" if profile == "v4" else COOKIE5


def login(node, user="ADMIN", password="KYLIN"):
    """POST user/authentication with Basic as the UIs do (s.5.1/s.5.2)."""
    res = node.request("POST", "/kylin/api/user/authentication", b"{}",
                       hdrs(node.profile, basic(user, password),
                            {"Content-Type": "application/json"}))
    return res, set_cookie(res, cookie_name(node.profile))


def protected_path(profile):
    return "/kylin/api/projects" if profile == "v4" else "/kylin/api/models"


def last(node, path=None):
    entries = [e for e in node.log() if path is None or e["path"] == path]
    return entries[-1]


# -- start-up, identity ---------------------------------------------------------------
@pytest.mark.parametrize("profile", PROFILES)
def test_start_state_and_node_header(sim, profile):
    node = sim.start("n1", profile, "query")
    state = node.state()
    assert state["name"] == "n1" and state["mode"] == "query" and state["port"] == node.port
    assert state["version"] == ("4.0.3" if profile == "v4" else "5.0.0")
    res = node.get("/kylin/api/admin/public_config")
    assert res.header("X-Kylin-Node") == "n1"
    assert res.header("WWW-Authenticate") is None


def test_v4_version_endpoint(sim):
    """E5: unauthenticated version probe."""
    node = sim.start("n1", "v4", version="3.1.3")
    body = node.get("/kylin/api/admin/version").json()
    assert body["kylin.version"] == "3.1.3"
    assert re.fullmatch(r"[0-9a-f]{40}", body["kylin.version.commitId"])


def test_v4_health_is_not_a_v4_endpoint(sim):
    """s.10: /api/** needs authentication on 2.x-4.x; unknown path then 404 HTML."""
    node = sim.start("n1", "v4")
    anon = node.get("/kylin/api/health")
    assert anon.status == 401 and b"HTTP Status 401" in anon.body
    authed = node.get("/kylin/api/health", basic())
    assert authed.status == 404 and authed.header("Content-Type").startswith("text/html")


def test_v5_health_and_content_negotiation(sim):
    """E6 + s.10: actuator types only; Kylin vendor types get 406 with no body."""
    node = sim.start("n1", "v5")
    for accept in (None, "*/*", JSON, "application/vnd.spring-boot.actuator.v3+json"):
        res = node.get("/kylin/api/health", {"Accept": accept} if accept else {})
        assert res.status == 200, accept
        assert res.json()["status"] == "UP" and "components" in res.json()
    for accept in (V4, V4P):
        res = node.get("/kylin/api/health", {"Accept": accept})
        assert res.status == 406 and res.body == b""


def test_v5_admin_version_absent(sim):
    node = sim.start("n1", "v5")
    assert node.get("/kylin/api/admin/version", basic()).status == 404
    anon = node.get("/kylin/api/admin/version")
    assert anon.status == 401 and anon.json()["error_code"] == "KE-010003207"


def test_v5_accept_rules(sim):
    """s.10: system/servers takes v4/v4-public/*/*; epoch/maintenance_mode only v4."""
    node = sim.start("n1", "v5")
    for accept, status in ((V4P, 200), (V4, 200), ("*/*", 200), (JSON, 406)):
        res = node.get("/kylin/api/system/servers", {**basic(), "Accept": accept})
        assert res.status == status, accept
    for accept, status in ((V4, 200), ("*/*", 200), (None, 200), (V4P, 406), (JSON, 406)):
        res = node.get("/kylin/api/epoch/maintenance_mode", {"Accept": accept} if accept else {})
        assert res.status == status, accept
    ok = node.get("/kylin/api/epoch/maintenance_mode", {"Accept": V4})
    assert ok.json() == {"code": "000", "data": False, "msg": ""}
    assert ok.header("Content-Type") == V4


# -- leadership and configuration (v4) ------------------------------------------------------
def test_v4_is_active_job_node(sim):
    """E1: bare boolean, query nodes false, non-Curator scheduler 500."""
    leader = sim.start("n1", "v4", "all", leader=True)
    follower = sim.start("n2", "v4", "job")
    path = "/kylin/api/service_discovery/state/is_active_job_node"
    assert leader.get(path).body == b"true"
    assert follower.get(path).body == b"false"
    leader.control(mode="query")
    assert leader.get(path).body == b"false"
    leader.control(mode="job", scheduler="default")
    res = leader.get(path)
    assert res.status == 500
    assert res.json()["msg"].startswith("Only meaningful when scheduler is CuratorScheduler")
    assert res.json()["url"].endswith(path)


def test_v4_scheduler_default_flag(sim):
    node = sim.start("n1", "v4", scheduler="default")
    res = node.get("/kylin/api/service_discovery/state/is_active_job_node")
    assert res.status == 500 and "try set kylin.job.scheduler.default to 100" in res.json()["msg"]
    config = node.get("/kylin/api/admin/public_config").json()["config"]
    assert "kylin.job.scheduler.default=0\n" in config


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("public_mode", [False, True])
def test_public_config(sim, profile, public_mode):
    """E3: no auth; kylin.server.mode only when whitelisted (--public-mode)."""
    node = sim.start("n1", profile, "job", public_mode=public_mode)
    res = node.get("/kylin/api/admin/public_config")
    assert res.status == 200
    text = res.json()["config"] if profile == "v4" else res.json()["data"]
    assert "kylin.security.profile=testing\n" in text
    assert ("kylin.server.mode=job\n" in text) == public_mode
    if profile == "v4":
        assert "kylin.job.scheduler.default=100\n" in text
    else:
        assert res.json()["code"] == "000"


def test_v4_admin_config_requires_admin(sim):
    """E4: ROLE_ADMIN; shows mode, host-address and scheduler."""
    node = sim.start("n1", "v4", "query")
    assert node.get("/kylin/api/admin/config").status == 401
    assert node.get("/kylin/api/admin/config", basic("ANALYST", "ANALYST")).status == 403
    res = node.get("/kylin/api/admin/config", basic())
    config = res.json()["config"]
    assert "kylin.server.mode=query\n" in config
    assert f"kylin.server.host-address={node.address}\n" in config
    assert "kylin.job.scheduler.default=100\n" in config


# -- cluster view and maintenance (v5) -------------------------------------------------------
def test_v5_system_servers_lists_cluster(sim):
    """E7: every registered node with its mode; mode changes and exits are seen."""
    shared = sim.shared_dir()
    a = sim.start("a", "v5", "all", shared_dir=shared)
    q = sim.start("q", "v5", "query", shared_dir=shared)
    j = sim.start("j", "v5", "job", shared_dir=shared)
    res = q.get("/kylin/api/system/servers?ext=true", hdrs("v5", basic()))
    data = res.json()["data"]
    assert data["status"] == {"maintenance_mode": False, "maintenance_mode_reason": None}
    modes = {s["host"]: s["mode"] for s in data["servers"]}
    assert modes == {a.address: "all", q.address: "query", j.address: "job"}
    assert all(s["secretName"] for s in data["servers"])
    plain = a.get("/kylin/api/system/servers", hdrs("v5", basic())).json()["data"]
    assert sorted(plain["servers"]) == sorted(modes)
    j.control(mode="query")
    j.stop()
    servers = a.get("/kylin/api/query/servers?ext=true", hdrs("v5", basic())).json()["data"]
    assert {s["host"]: s["mode"] for s in servers} == {a.address: "all", q.address: "query"}
    host = q.get("/kylin/api/system/host", hdrs("v5", basic())).json()["data"]
    assert host == q.address


def test_v5_killed_node_disappears(sim):
    """A SIGKILLed node (dead ZooKeeper session) leaves the list too."""
    shared = sim.shared_dir()
    a = sim.start("a", "v5", shared_dir=shared)
    b = sim.start("b", "v5", "query", shared_dir=shared)
    os.kill(b.pid, signal.SIGKILL)
    b.proc.wait(5)
    servers = a.get("/kylin/api/system/servers", hdrs("v5", basic())).json()["data"]["servers"]
    assert servers == [a.address]


def test_v5_maintenance_mode(sim):
    """E10: cluster-wide flag; writes refused with KE-040024201."""
    shared = sim.shared_dir()
    a = sim.start("a", "v5", "all", shared_dir=shared)
    b = sim.start("b", "v5", "all", shared_dir=shared)
    a.control(maintenance=True, maintenance_reason="upgrade")
    assert b.get("/kylin/api/epoch/maintenance_mode").json()["data"] is True
    status = b.get("/kylin/api/system/servers", hdrs("v5", basic())).json()["data"]["status"]
    assert status == {"maintenance_mode": True, "maintenance_mode_reason": "upgrade"}
    res = b.request("POST", "/kylin/api/models/m/segments", {"project": "p"},
                    hdrs("v5", basic(), accept=V4P))
    assert res.status == 500 and res.json()["error_code"] == "KE-040024201"
    query = b.request("POST", "/kylin/api/query", {"sql": "select 1"}, hdrs("v5", basic()))
    assert query.status == 200
    a.control(maintenance=False)
    assert b.get("/kylin/api/epoch/maintenance_mode").json()["data"] is False


# -- authentication -----------------------------------------------------------------------------
def test_v4_login_cookie_valid_only_on_issuing_node(sim):
    """s.5.1: JSESSIONID is per Tomcat; another node answers 401 / {}."""
    n1, n2 = sim.start("n1", "v4"), sim.start("n2", "v4")
    res, sid = login(n1)
    assert res.status == 200 and res.json()["userDetails"]["username"] == "ADMIN"
    assert {"authority": "ROLE_ADMIN"} in res.json()["userDetails"]["authorities"]
    assert re.fullmatch(r"[0-9A-F]{32}", sid)
    assert f"JSESSIONID={sid}; Path=/kylin; HttpOnly" in res.cookies()
    cookie = {"Cookie": f"JSESSIONID={sid}"}
    ok = n1.get("/kylin/api/projects", hdrs("v4", cookie))
    assert ok.status == 200 and ok.cookies() == []
    entry = last(n1)
    assert entry["auth"] == "session" and entry["session_reused"] and entry["user"] == "ADMIN"
    other = n2.get("/kylin/api/projects", hdrs("v4", cookie))
    assert other.status == 401 and other.header("WWW-Authenticate") is None
    assert last(n2)["auth"] == "bad-session"
    ping = n2.get("/kylin/api/user/authentication", hdrs("v4", cookie))
    assert ping.status == 200 and ping.json() == {}
    assert n1.get("/kylin/api/user/authentication", hdrs("v4", cookie)).json()[
        "userDetails"]["username"] == "ADMIN"


def test_v4_basic_creates_session_unless_one_is_valid(sim):
    """s.5.1: Basic without a valid session -> new JSESSIONID; with the same
    user's session the Basic header is not re-checked and the session is kept."""
    node = sim.start("n1", "v4")
    first = node.get("/kylin/api/cubes", hdrs("v4", basic()))
    second = node.get("/kylin/api/cubes", hdrs("v4", basic()))
    sid1, sid2 = set_cookie(first, "JSESSIONID"), set_cookie(second, "JSESSIONID")
    assert sid1 and sid2 and sid1 != sid2
    both = node.get("/kylin/api/cubes", hdrs("v4", basic(), {"Cookie": f"JSESSIONID={sid1}"}))
    assert both.status == 200 and both.cookies() == []
    assert last(node)["auth"] == "session" and last(node)["session_reused"]
    switch = node.get("/kylin/api/cubes", hdrs("v4", basic("ANALYST", "ANALYST"),
                                              {"Cookie": f"JSESSIONID={sid1}"}))
    assert set_cookie(switch, "JSESSIONID") not in (None, sid1)
    assert node.get("/kylin/api/cubes", {"Cookie": f"JSESSIONID={sid1}"}).status == 401


@pytest.mark.parametrize("profile", PROFILES)
def test_unauthenticated_answers(sim, profile):
    """s.5: 401 without WWW-Authenticate; bad Basic fails even on permitAll URLs."""
    node = sim.start("n1", profile)
    anon = node.get(protected_path(profile), hdrs(profile))
    bad = node.get("/kylin/api/admin/public_config", hdrs(profile, basic("ADMIN", "nope")))
    for res in (anon, bad):
        assert res.status == 401 and res.header("WWW-Authenticate") is None
    auth_anon = node.request("POST", "/kylin/api/user/authentication", b"{}", hdrs(profile))
    if profile == "v4":
        assert anon.header("Content-Type").startswith("text/html")
        assert b"HTTP Status 401" in bad.body
        assert auth_anon.status == 200 and auth_anon.json() == {}
    else:
        assert anon.json()["error_code"] == "KE-010003207"
        assert bad.json()["error_code"] == "KE-010003208"
        assert auth_anon.status == 401 and auth_anon.json()["error_code"] == "KE-010003209"
        assert set(bad.json()) >= {"code", "msg", "error_code", "stacktrace", "exception",
                                   "url", "suggestion"}
    kinds = [e["auth"] for e in node.log()]
    assert kinds == ["anonymous", "bad-basic", "anonymous"]


def test_v5_session_shared_across_cluster(sim):
    """s.5.2: one Spring Session store for the cluster; UI login then cookie only."""
    shared = sim.shared_dir()
    a = sim.start("a", "v5", shared_dir=shared)
    b = sim.start("b", "v5", "query", shared_dir=shared)
    res, sid = login(a, "ANALYST", "ANALYST")
    assert res.status == 200 and res.json()["data"]["username"] == "ANALYST"
    assert base64.b64decode(sid).decode().count("-") == 4
    assert f"{COOKIE5}={sid}; Path=/kylin/; HttpOnly; SameSite=Lax" in res.cookies()
    cookie = {"Cookie": f"other=1; {COOKIE5}={sid}"}
    on_b = b.get("/kylin/api/models", hdrs("v5", cookie))
    assert on_b.status == 200 and on_b.cookies() == []
    entry = last(b)
    assert (entry["auth"], entry["user"], entry["session_reused"]) == ("session", "ANALYST", True)
    assert entry["cookies"] == ["other", COOKIE5]
    assert b.get("/kylin/api/projects", hdrs("v5")).json()["data"]["value"] == []
    assert b.get("/kylin/api/projects", hdrs("v5", cookie)).json()["data"]["total_size"] == 1
    forged = {"Cookie": f"{COOKIE5}={base64.b64encode(b'0' * 36).decode()}"}
    assert b.get("/kylin/api/models", hdrs("v5", forged)).status == 401
    assert last(b)["auth"] == "bad-session"


def test_v5_cookie_name_follows_metadata_url(sim):
    """s.10: sha256 of the metadata identifier and url, non-word chars as '_'."""
    assert session_cookie_name("jdbc:postgresql://localhost:5432/kylin") == COOKIE5
    url = "kylin@jdbc,driverClassName=org.postgresql.Driver,url=jdbc:postgresql://db:5432/k"
    node = sim.start("n1", "v5", metadata_url=url)
    res, _ = login(node)
    name = session_cookie_name(url)
    assert name != COOKIE5 and set_cookie(res, name)


def test_v5_lockout_after_three_failures_cluster_wide(sim):
    """s.10: the 3rd consecutive failure locks the user for 30 s on every node."""
    shared = sim.shared_dir()
    a = sim.start("a", "v5", shared_dir=shared)
    b = sim.start("b", "v5", shared_dir=shared)
    for _ in range(3):
        res, _ = login(a, "MODELER", "wrong")
        assert res.status == 401 and res.json()["error_code"] == "KE-010003208"
    locked, _ = login(b, "MODELER", "MODELER")
    assert locked.status == 400 and locked.json()["error_code"] == "KE-010003005"
    assert "locked" in locked.json()["msg"]
    assert (last(b)["auth"], last(b)["user"]) == ("locked", "MODELER")
    other, _ = login(b, "ADMIN", "KYLIN")
    assert other.status == 200
    a.control(reset_locks=True)
    assert login(b, "MODELER", "MODELER")[0].status == 200


def test_v5_success_resets_failure_count(sim):
    node = sim.start("n1", "v5")
    for password in ("x", "x", "MODELER", "x", "x"):
        login(node, "MODELER", password)
    assert login(node, "MODELER", "MODELER")[0].status == 200


@pytest.mark.parametrize("profile", PROFILES)
def test_logout(sim, profile):
    """E13 + s.10: session invalidated, cookie expired, 302."""
    node = sim.start("n1", profile)
    _, sid = login(node)
    name = cookie_name(profile)
    cookie = {"Cookie": f"{name}={sid}"}
    assert node.get(protected_path(profile), hdrs(profile, cookie)).status == 200
    path = "/kylin/j_spring_security_logout" if profile == "v4" else \
        "/kylin/api/j_spring_security_logout"
    res = node.get(path, {"Accept": "text/html", **cookie})
    assert res.status == 302
    assert res.header("Location") == ("/kylin/." if profile == "v4" else "/kylin/")
    expired = [c for c in res.cookies() if c.startswith(f"{name}=;")]
    assert expired and "Max-Age=0" in expired[0] and "1970" in expired[0]
    if profile == "v5":
        assert any(c.startswith("JSESSIONID=;") for c in res.cookies())
    assert node.get(protected_path(profile), hdrs(profile, cookie)).status == 401


@pytest.mark.parametrize("profile", PROFILES)
def test_session_idle_timeout(sim, profile):
    node = sim.start("n1", profile, extra=["--session-timeout", "0.6"])
    _, sid = login(node)
    cookie = {"Cookie": f"{cookie_name(profile)}={sid}"}
    assert node.get(protected_path(profile), hdrs(profile, cookie)).status == 200
    time.sleep(0.9)
    assert node.get(protected_path(profile), hdrs(profile, cookie)).status == 401


# -- queries --------------------------------------------------------------------------------------
@pytest.mark.parametrize("profile", PROFILES)
def test_query_refused_on_job_node(sim, profile):
    """s.3: v4 400 'Query is not allowed in 'job' mode.'; v5 500 KE-040023202."""
    node = sim.start("n1", profile, "job")
    res = node.request("POST", "/kylin/api/query", {"sql": "select 1", "project": "p"},
                       hdrs(profile, basic()))
    body = res.json()
    if profile == "v4":
        assert res.status == 400
        assert body["code"] == "999" and body["data"] is None
        assert body["msg"] == body["exception"] == "Query is not allowed in 'job' mode."
        assert body["url"] == f"http://{node.address}/kylin/api/query" and body["stacktrace"]
    else:
        assert res.status == 500 and body["error_code"] == "KE-040023202"
        assert body["msg"] == "Job node is unavailable for queries. Please select a query node."
    prestate = node.request("POST", "/kylin/api/query/prestate", {"sql": "select 1"},
                            hdrs(profile, basic()))
    assert prestate.status == res.status


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("mode", ["all", "query"])
def test_query_answered_with_node_name(sim, profile, mode):
    node = sim.start("n7", profile, mode)
    res = node.request("POST", "/kylin/api/query", {"sql": "select 1"}, hdrs(profile, basic()))
    assert res.status == 200
    data = res.json() if profile == "v4" else res.json()["data"]
    assert data["results"] == [["n7", "select 1"]] and data["columnMetas"]
    if profile == "v5":
        assert data["server"] == node.address
    assert node.get("/kylin/api/tables_and_columns?project=p", hdrs(profile, basic())).status == 200


def test_v5_query_media_types_and_user_agent(sim):
    """s.10: vendor types need User-Agent; application/json gets the legacy answer."""
    node = sim.start("n1", "v5", "query")
    no_ua = node.request("POST", "/kylin/api/query", {"sql": "select 1"},
                         {**basic(), "Accept": V4P})
    assert no_ua.status == 500
    assert no_ua.json()["msg"].startswith("Required request header 'User-Agent'")
    for accept in (None, "*/*"):  # no vendor type asked for: no User-Agent needed
        res = node.request("POST", "/kylin/api/query", {"sql": "select 1"},
                           {**basic(), **({"Accept": accept} if accept else {})})
        assert res.status == 200 and res.json()["data"]["results"] == [["n1", "select 1"]]
    legacy = node.request("POST", "/kylin/api/query", {"sql": "select 1"},
                          {**basic(), "Accept": JSON})
    assert legacy.status == 200 and legacy.json()["results"] == [["n1", "select 1"]]
    asy = node.request("POST", "/kylin/api/async_query", {"sql": "select 1"},
                       hdrs("v5", basic()))
    assert asy.status == 200 and asy.json()["data"]["query_id"]
    tc = node.get("/kylin/api/query/tables_and_columns", hdrs("v5", basic()))
    assert tc.status == 200


# -- builds and forwarding -------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["all", "job", "query"])
def test_v4_builds_accepted_on_every_node(sim, mode):
    """KYLIN-3569 (s.3.1, s.10): builds and job control on any node."""
    node = sim.start("n1", "v4", mode)
    h = hdrs("v4", basic(), {"Content-Type": "application/json"})
    res = node.request("PUT", "/kylin/api/cubes/sales/rebuild",
                       {"startTime": 0, "endTime": 1, "buildType": "BUILD"}, h)
    assert res.status == 200
    job = res.json()
    assert job["related_cube"] == "sales" and job["job_status"] == "PENDING" and job["uuid"]
    resume = node.request("PUT", f"/kylin/api/jobs/{job['uuid']}/resume", b"", h)
    assert resume.status == 200 and resume.json()["uuid"] == job["uuid"]
    drop = node.request("DELETE", f"/kylin/api/jobs/{job['uuid']}/drop", None, h)
    assert drop.status == 200 and drop.json()["job_status"] == "DISCARDED"
    assert node.request("PUT", "/kylin/api/cubes/sales/rebuild", b"{}", hdrs("v4")).status == 401


def test_v5_build_on_job_node_is_local(sim):
    node = sim.start("j", "v5", "job")
    res = node.request("POST", "/kylin/api/models/m/segments", {"project": "p"},
                       hdrs("v5", basic(), accept=V4P))
    assert res.status == 200 and res.json()["data"]["jobs"][0]["job_name"] == "INC_BUILD"
    assert res.json()["data"]["jobs"][0]["job_id"]
    assert node.request("PUT", "/kylin/api/jobs/status", {"action": "PAUSE"},
                        hdrs("v5", basic())).status == 200
    assert node.request("POST", "/kylin/api/models/m/indexes", {"project": "p"},
                        hdrs("v5", basic(), accept=V4)).status == 406


def test_v5_query_node_forwards_writes(sim):
    """s.3.2/s.10: a query node relays writes to an all/job node with routed: true."""
    shared = sim.shared_dir()
    q = sim.start("q", "v5", "query", shared_dir=shared)
    a = sim.start("a", "v5", "all", shared_dir=shared)
    _, sid = login(q)
    h = hdrs("v5", {"Cookie": f"{COOKIE5}={sid}"}, accept=V4P)
    res = q.request("POST", "/kylin/api/models/m/segments", {"project": "p"}, h)
    assert res.status == 200 and res.json()["data"]["jobs"][0]["job_name"] == "INC_BUILD"
    assert res.header("X-Kylin-Node") == "q" and res.header("X-Kylin-Routed-To") == "a"
    on_a = last(a, "/kylin/api/models/m/segments")
    assert on_a["routed"] is True and on_a["auth"] == "session" and on_a["method"] == "POST"
    on_q = last(q, "/kylin/api/models/m/segments")
    assert on_q["routed"] is False and on_q["forwarded_to"] == "a"
    other = q.request("PUT", "/kylin/api/projects/p/config", {"k": "v"}, hdrs("v5", basic()))
    assert other.status == 200 and other.header("X-Kylin-Routed-To") == "a"
    count = len(a.log())
    local = q.request("POST", "/kylin/api/models/m/segments", {"project": "p"},
                      {**h, "routed": "true"})
    assert local.status == 200 and local.header("X-Kylin-Routed-To") is None
    assert len(a.log()) == count
    assert last(q)["routed"] is True and last(q)["forwarded_to"] is None
    query = q.request("POST", "/kylin/api/query", {"sql": "select 1"}, hdrs("v5", basic()))
    assert query.status == 200 and len(a.log()) == count


def test_v5_query_node_without_job_node(sim):
    """KE-010021004 when no all/job node is registered."""
    shared = sim.shared_dir()
    q = sim.start("q", "v5", "query", shared_dir=shared)
    sim.start("q2", "v5", "query", shared_dir=shared)
    res = q.request("POST", "/kylin/api/models/m/segments", {"project": "p"},
                    hdrs("v5", basic(), accept=V4P))
    assert res.status == 500 and res.json()["error_code"] == "KE-010021004"
    assert "There is no active leader node" in res.json()["msg"]


def test_v5_forward_prefers_leader(sim):
    shared = sim.shared_dir()
    q = sim.start("q", "v5", "query", shared_dir=shared)
    sim.start("a", "v5", "all", shared_dir=shared)
    sim.start("j", "v5", "job", shared_dir=shared, leader=True)
    res = q.request("DELETE", "/kylin/api/models/m/segments?ids=1", None,
                    hdrs("v5", basic(), accept=V4P))
    assert res.status == 200 and res.header("X-Kylin-Routed-To") == "j"


# -- internal and other endpoints -------------------------------------------------------------------
@pytest.mark.parametrize("profile", PROFILES)
def test_internal_endpoints_permit_all(sim, profile):
    node = sim.start("n1", profile)
    paths = ["/kylin/api/cache/all/all/update"]
    if profile == "v5":
        paths += ["/kylin/api/broadcast", "/kylin/api/epoch"]
    for path in paths:
        method = "PUT" if "cache" in path else "POST"
        assert node.request(method, path, b"{}", {"Content-Type": JSON}).status == 200, path
    assert node.request("POST", "/kylin/api/projects", {"name": "x"},
                        hdrs(profile, basic())).status == 200


@pytest.mark.parametrize("profile", PROFILES)
def test_ui_pages(sim, profile):
    """A minimal UI whose login JS follows Kylin's UI (s.5.1 / s.5.2)."""
    node = sim.start("n9", profile)
    for path in ("/kylin/", "/kylin/index.html", "/kylin/login", "/kylin/jobs", "/kylin/models"):
        res = node.get(path)
        assert res.status == 200 and b"<title>Kylin n9</title>" in res.body, path
    page = node.get("/kylin/").body.decode()
    assert 'var PROFILE = "%s"' % profile in page
    assert "/kylin/api/user/authentication" in page and "btoa(" in page
    assert "withCredentials = true" in page
    redirect = node.get("/kylin")
    assert redirect.status == 302 and redirect.header("Location") == "/kylin/"


# -- faults ---------------------------------------------------------------------------------------
def probe_path(profile):
    return "/kylin/api/admin/version" if profile == "v4" else "/kylin/api/health"


@pytest.mark.parametrize("profile", PROFILES)
def test_fault_500_garbage_html(sim, profile):
    node = sim.start("n1", profile)
    path = probe_path(profile)
    node.control(fault="500")
    res = node.get(path)
    assert res.status == 500 and res.json()["code"] == "999"
    node.control(fault="garbage")
    res = node.get(path)
    assert res.status == 200
    with pytest.raises(ValueError):
        res.json()
    node.control(fault="html")
    res = node.get(path)
    assert res.status == 200 and res.header("Content-Type").startswith("text/html")
    assert node.get("/_sim/state").status == 200
    node.control(fault="none")
    assert node.get(path).status == 200
    assert [e["fault"] for e in node.log()] == ["500", "garbage", "html", None]


@pytest.mark.parametrize("profile", PROFILES)
def test_fault_scope_probes(sim, profile):
    node = sim.start("n1", profile)
    node.control(fault="500", fault_scope="probes")
    assert node.get(probe_path(profile)).status == 500
    assert node.get("/kylin/api/admin/public_config").status == 500
    assert node.get(protected_path(profile), hdrs(profile, basic())).status == 200
    node.control(fault_scope="all")
    assert node.get(protected_path(profile), hdrs(profile, basic())).status == 500


@pytest.mark.parametrize("profile", PROFILES)
def test_fault_hang_and_refuse(sim, profile):
    node = sim.start("n1", profile)
    node.control(fault="hang")
    with pytest.raises((socket.timeout, TimeoutError)):
        node.get(probe_path(profile), timeout=0.5)
    assert node.state()["fault"] == "hang"  # the control API still answers
    node.control(fault="refuse")
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        node.get(probe_path(profile))
    node.control(fault="none")
    assert node.get(probe_path(profile)).status == 200
    assert [e["fault"] for e in node.log()][:2] == ["hang", "refuse"]


def test_hang_releases_when_cleared(sim):
    node = sim.start("n1", "v5")
    node.control(fault="hang")
    conn = http.client.HTTPConnection(node.host, node.port, timeout=5)
    conn.request("GET", "/kylin/api/health")
    time.sleep(0.2)
    node.control(fault="none")
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        conn.getresponse()  # the held connection is closed, unanswered
    conn.close()


@pytest.mark.parametrize("profile", PROFILES)
def test_fault_slow_and_delay(sim, profile):
    node = sim.start("n1", profile)
    node.control(fault="slow", delay_ms=300, fault_scope="probes")
    started = time.time()
    assert node.get(probe_path(profile)).status == 200
    assert time.time() - started >= 0.3
    started = time.time()
    node.get(protected_path(profile), hdrs(profile, basic()))
    assert time.time() - started < 0.25
    node.control(fault="none", delay_ms=250)
    started = time.time()
    node.get(protected_path(profile), hdrs(profile, basic()))
    assert time.time() - started >= 0.25
    started = time.time()
    node.get("/_sim/state")
    assert time.time() - started < 0.2


def test_fault_down_only_affects_v5_health(sim):
    v5 = sim.start("n5", "v5")
    v4 = sim.start("n4", "v4")
    for node in (v5, v4):
        node.control(fault="down")
    res = v5.get("/kylin/api/health")
    assert res.status == 503 and res.json()["status"] == "DOWN"
    assert v5.get("/kylin/api/epoch/maintenance_mode").status == 200
    assert v4.get("/kylin/api/admin/version").status == 200


def test_control_validation(sim):
    node = sim.start("n1", "v4")
    for bad in ({"mode": "both"}, {"fault": "explode"}, {"delay_ms": -1}, {"leader": "yes"},
                {"nonsense": 1}):
        res = node.request("POST", "/_sim/control", bad)
        assert res.status == 400, bad
    assert node.request("POST", "/_sim/control", b"not json").status == 400
    assert node.state()["mode"] == "all"


# -- log and HTTP plumbing ---------------------------------------------------------------------------
def test_log_fields_since_and_clear(sim):
    node = sim.start("n1", "v4")
    _, sid = login(node)
    node.get("/kylin/api/cubes?x=1", {"Cookie": f"JSESSIONID={sid}", "Accept": JSON,
                                      "User-Agent": "ua-1"})
    node.get("/kylin/api/cubes", basic("ADMIN", "bad"))
    entries = node.log()
    assert [e["seq"] for e in entries] == [1, 2, 3]
    first, second, third = entries
    assert (first["auth"], first["user"], first["session_reused"]) == ("basic", "ADMIN", False)
    assert (first["method"], first["path"], first["status"]) == (
        "POST", "/kylin/api/user/authentication", 200)
    assert second["auth"] == "session" and second["session_reused"] is True
    assert (second["query"], second["ua"], second["accept"]) == ("x=1", "ua-1", JSON)
    assert second["cookies"] == ["JSESSIONID"] and second["routed"] is False
    assert third["auth"] == "bad-basic" and third["status"] == 401
    assert isinstance(first["t"], float)
    page = node.get("/_sim/log?since=3").json()
    assert page["next"] == 4 and [e["seq"] for e in page["entries"]] == [3]
    node.clear_log()
    assert node.log() == []
    assert node.state()["requests"] == 3


@pytest.mark.parametrize("profile", PROFILES)
def test_keep_alive_connection_reuse(sim, profile):
    """HTTP/1.1 keep-alive: every answer has Content-Length; the connection is reused."""
    node = sim.start("n1", profile)
    conn = http.client.HTTPConnection(node.host, node.port, timeout=5)
    requests = [
        ("GET", "/kylin/api/admin/public_config", None, {}),
        ("GET", protected_path(profile), None, hdrs(profile)),  # 401
        ("POST", "/kylin/api/query", b'{"sql":"select 1"}',
         hdrs(profile, basic(), {"Content-Type": JSON})),
        ("GET", "/kylin", None, {}),  # 302
        ("GET", "/kylin/", None, {}),
        ("HEAD", "/kylin/", None, {}),
    ]
    ports = set()
    for method, path, body, headers in requests:
        conn.request(method, path, body=body, headers=headers)
        res = conn.getresponse()
        res.read()
        assert res.getheader("Content-Length") is not None
        ports.add(conn.sock.getsockname()[1])
    assert len(ports) == 1
    conn.close()


def test_chunked_request_body(sim):
    node = sim.start("n1", "v4")
    conn = http.client.HTTPConnection(node.host, node.port, timeout=5)
    conn.request("POST", "/kylin/api/query", body=iter([b'{"sql":', b'"select 2"}']),
                 headers={**basic(), "Content-Type": JSON}, encode_chunked=True)
    res = conn.getresponse()
    assert res.status == 200 and b"select 2" in res.read()
    conn.close()


def test_clean_exit_unregisters(sim):
    shared = sim.shared_dir()
    node = sim.start("n1", "v5", shared_dir=shared)
    assert os.listdir(os.path.join(shared, "nodes")) == ["n1.json"]
    assert node.stop() == 0
    assert os.listdir(os.path.join(shared, "nodes")) == []


def test_bad_start_reports_stderr(sim):
    with pytest.raises(pytest.fail.Exception) as info:
        sim.start("bad name!", "v4")
    assert "--name" in str(info.value)


def test_paths_are_normalized_like_tomcat(sim):
    """Routing and the log see the servlet path; raw_path keeps what was sent."""
    node = sim.start("n1", "v4")
    res = node.request("PUT", "/kylin/api//%63ache/x;jsessionid=1", b"", {})
    assert res.status == 200  # /api/cache*/** is permitAll
    entry = last(node)
    assert entry["path"] == "/kylin/api/cache/x"
    assert entry["raw_path"] == "/kylin/api//%63ache/x;jsessionid=1"
    assert node.get("/kylin/api/%2fcache").status == 400
    assert last(node)["status"] == 400
