"""Profile `v5`: a Kylin 5.x node (Spring Boot, context path /kylin).

Follows kylin-rest.md s.2.2 (envelopes, ErrorResponse with error_code), s.3.2
(modes, QueryNodeFilter write forwarding with `routed: true`), s.4.1 E6-E11,
s.4.2 E12-E13, s.4.3-4.4, s.5.2 (shared Spring Session cookie) and s.10
(content negotiation, permitAll list, lock-out, error codes).
"""

from __future__ import annotations

import http.client
import re
import uuid

from sim_app import KylinApp, R, json_body
from sim_common import (ACTUATOR, ADMIN, AUTH, JSON, PERMIT, V2, V4, V4_PUBLIC,
                        Response, json_response)
from sim_pages import (V5_READS, data_result, spring_not_found, ui_page, v5_error,
                       v5_jobs, v5_sql_response, v5_user_data)

V4S = (V4, V4_PUBLIC)
ACTUATOR_V2 = "application/vnd.spring-boot.actuator.v2+json"
MSG = {
    "KE-010003207": "Can't authenticate. Please login again.",
    "KE-010003208": "Invalid username or password. Please check and try again.",
    "KE-010003209": "Can't find authentication information.",
    "KE-040023202": "Job node is unavailable for queries. Please select a query node.",
    "KE-040024201": "Can't operate Metadata at the moment, as system is in maintenance mode.",
    "KE-010021004": "There is no active leader node. Please contact system admin to check and fix.",
    "KE-010021002": "System is trying to recover service. Please try again later.",
}
NO_USER_AGENT = ("Required request header 'User-Agent' for method parameter type String "
                 "is not present")
# QueryNodeFilter's local writes (s.3.2, s.10): never forwarded, never blocked.
LOCAL_WRITES = re.compile(
    r"/api/(query|async_query|user/authentication[^/]*|user/update_user|epoch|cache[^/]*|"
    r"broadcast|admin|j_spring_security_logout|tables/catalog_cache|kg/health|"
    r"system/(maintenance_mode|metadata/reload|diag[^/]*|roll_event_log|"
    r"broadcast_metadata_backup|metadata_backup_tmp_file)|"
    r"jobs/(spark|stage/status|error|wait_and_run_time))(/.*)?")
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te",
              "trailer", "upgrade", "host", "content-length", "routed"}
READ_COLLECTIONS = (r"models|cubes|jobs|tables|query|system|user|user_group|access|acl|"
                    r"index_plans|segments|projects|monitor|recommendations|kafka|streaming_jobs")
BUILD_NAMES = {("POST", "segments"): "INC_BUILD", ("PUT", "segments"): "INDEX_REFRESH",
               ("DELETE", "segments"): "SEGMENT_DELETE", ("POST", "indexes"): "INDEX_BUILD"}


class V5App(KylinApp):
    ROUTES = [
        # E6-E11, s.10 permitAll list and media types
        R("GET", r"/api/health(/.*)?", PERMIT, "health", (ACTUATOR, JSON, ACTUATOR_V2)),
        R("GET", r"/api/system/servers", AUTH, "system_servers", V4S),
        R("GET", r"/api/query/servers", AUTH, "query_servers", V4S),
        R("GET", r"/api/system/host", AUTH, "system_host", V4S),
        R("GET", r"/api/epoch/maintenance_mode", PERMIT, "epoch_maintenance", (V4,)),
        R("GET", r"/api/system/maintenance_mode", AUTH, "system_maintenance", (V4,)),
        R("POST|PUT|DELETE", r"/api/system/maintenance_mode", ADMIN, "set_maintenance", (V4,)),
        R("GET", r"/api/admin/public_config", PERMIT, "public_config", V4S),
        R("GET", r"/api/admin/instance_info", PERMIT, "instance_info", V4S),
        R("*", r"/api/admin[^/]*(/.*)?", ADMIN, "not_found"),
        R("GET|POST", r"/api/user/authentication[^/]*(/.*)?", PERMIT, "user_authentication",
          V4S + (V2,)),
        R("POST", r"/api/user/update_user", PERMIT, "write_ok"),
        R("*", r"/api/j_spring_security_logout", PERMIT, "logout", auth_filter=False),
        R("GET", r"/api/projects", PERMIT, "projects", V4S),
        # s.4.3 queries
        R("POST", r"/api/query(?P<prestate>/prestate)?", AUTH, "query", V4S + (V2, JSON)),
        R("POST", r"/api/async_query", AUTH, "async_query", V4S),
        R("GET", r"/api/(query/)?tables_and_columns", AUTH, "tables_and_columns",
          V4S + (V2, JSON)),
        # s.4.4 builds and job control
        R("POST|PUT|DELETE", r"/api/models/[^/]+/(?P<kind>segments)(/.*)?", AUTH, "build",
          (V4_PUBLIC,)),
        R("POST", r"/api/models/[^/]+/(?P<kind>indexes)", AUTH, "build", (V4_PUBLIC,)),
        R("PUT", r"/api/jobs/(?P<kind>status)", AUTH, "build", V4S),
        R("DELETE", r"/api/(?P<kind>jobs)", AUTH, "build", V4S),
        R("PUT", r"/api/cubes/[^/]+/(?P<kind>rebuild|segments)", AUTH, "build", (V2,)),
        R("PUT", r"/api/jobs/[^/]+/(?P<kind>resume)", AUTH, "build", (V2,)),
        # internal, permitAll
        R("PUT", r"/api/jobs/(spark|stage/status|error|wait_and_run_time)", PERMIT, "write_ok"),
        R("*", r"/api/cache[^/]*(/.*)?", PERMIT, "write_ok"),
        R("*", r"/api/broadcast(/.*)?", PERMIT, "write_ok"),
        R("*", r"/api/epoch(/.*)?", PERMIT, "write_ok"),
        R("*", r"/api/.*/metrics", PERMIT, "write_ok"),
        # everything else under /api/** needs authentication
        R("GET", rf"/api/(?P<coll>{READ_COLLECTIONS})(?P<rest>/.*)?", AUTH, "read", V4S),
        R("GET", r"/api(/.*)?", AUTH, "not_found"),
        R("*", r"/api(/.*)?", AUTH, "write_ok", V4S),
        R("GET", r"/.*", PERMIT, "ui"),
        R("*", r".*", PERMIT, "not_found"),
    ]

    # -- security hooks (s.5.2, s.10) --------------------------------------------
    def error(self, req, status: int, code: str, msg: str = None, exception: str = None):
        return v5_error(status, code, msg or MSG[code], self.url(req), exception)

    def unauthorized(self, req):
        return self.error(req, 401, "KE-010003207")

    def forbidden(self, req):
        return self.error(req, 403, "KE-060100201", "Access is denied.",
                          "org.springframework.security.access.AccessDeniedException")

    def bad_credentials(self, req, auth):
        if auth.kind == "locked":
            msg = (f"For security concern, account {auth.attempted} has been locked. "
                   f"Please try again in {auth.lock_seconds} seconds.")
            return self.error(req, 400, "KE-010003005", msg,
                              "org.springframework.security.authentication.LockedException")
        return self.error(req, 401, "KE-010003208")

    def fault_error(self, req):
        return self.error(req, 500, "KE-060100201", "Simulated failure of node " + self.node.name)

    # -- QueryNodeFilter: maintenance and forwarding (s.3.2, s.10) -----------------
    def before_auth(self, req, sub):
        if req.method not in ("POST", "PUT", "DELETE") or not sub.startswith("/api/"):
            return None
        if LOCAL_WRITES.fullmatch(sub):
            return None
        if self.node.maintenance_on():
            return self.error(req, 500, "KE-040024201"), self.peek(req), {}
        if self.node.mode != "query" or req.routed:
            return None
        return self.forward(req)

    def forward(self, req):
        """Relay a write from a query node to an all/job node with `routed: true`."""
        targets = self.node.job_capable_nodes()
        if not targets:
            return self.error(req, 500, "KE-010021004"), self.peek(req), {}
        target = targets[0]
        try:
            resp = relay(target["host"], req)
        except (OSError, http.client.HTTPException):
            resp = self.error(req, 500, "KE-010021002")
        resp.headers.append(("X-Kylin-Routed-To", target["name"]))
        return resp, self.peek(req), {"forwarded_to": target["name"]}

    # -- E6-E11 ------------------------------------------------------------------------
    def health(self, req, auth, m):
        component = {"status": "UP"}
        names = ("diskSpace", "fileSystem", "metaStore", "ping", "refresh", "sparkContext",
                 "sparkSqlContext")
        body = {"status": "UP", "components": {n: dict(component) for n in names}}
        return json_response(200, body, req.media)

    def server_entries(self, ext: bool) -> list:
        nodes = self.node.cluster_nodes()
        if not ext:
            return [n["host"] for n in nodes]
        return [{"host": n["host"], "mode": n["mode"], "secretName": n["secretName"]}
                for n in nodes]

    def maintenance_status(self) -> dict:
        state = self.node.maintenance_state()
        return {"maintenance_mode": state["on"], "maintenance_mode_reason": state["reason"]}

    def system_servers(self, req, auth, m):
        ext = req.params.get("ext", "").lower() == "true"
        data = {"status": self.maintenance_status(), "servers": self.server_entries(ext)}
        return self.ok_envelope(data, req)

    def query_servers(self, req, auth, m):
        return self.ok_envelope(self.server_entries(req.params.get("ext") == "true"), req)

    def system_host(self, req, auth, m):
        return self.ok_envelope(self.node.address, req)

    def epoch_maintenance(self, req, auth, m):
        return self.ok_envelope(self.node.maintenance_on(), req)

    def system_maintenance(self, req, auth, m):
        return self.ok_envelope(self.maintenance_status(), req)

    def set_maintenance(self, req, auth, m):
        on = req.method != "DELETE"
        reason = (req.params.get("reason") or json_body(req).get("reason")) if on else None
        self.node.set_maintenance(on, reason)
        return self.ok_envelope("", req)

    def public_config(self, req, auth, m):
        props = [("kylin.env", "QA"), ("kylin.security.profile", "testing"),
                 ("kylin.web.timezone", "GMT+8"), ("kylin.query.cache-enabled", "true"),
                 ("kylin.web.export-allow-admin", "true"),
                 ("kylin.web.export-allow-other", "true")]
        if self.node.public_mode:
            props.append(("kylin.server.mode", self.node.mode))
        return self.ok_envelope("".join(f"{k}={v}\n" for k, v in props), req)

    def instance_info(self, req, auth, m):
        return self.ok_envelope({"instance.timezone": "GMT+8"}, req)

    # -- E12 / E13 -------------------------------------------------------------------
    def user_authentication(self, req, auth, m):
        if not auth.ok:
            return self.error(req, 401, "KE-010003209")
        return self.ok_envelope(v5_user_data(auth.user, self.node.version), req)

    def logout(self, req, auth, m):
        """E13 and s.10: invalidate, 302 to /kylin/, expire JSESSIONID and the cookie."""
        self.authn.logout(req)
        resp = Response(302, headers=[("Location", "/kylin/")])
        return resp.add_cookies([
            self.authn.expired_cookie("JSESSIONID", "Path=/kylin/"),
            self.authn.expired_cookie(),
        ])

    def projects(self, req, auth, m):
        """permitAll (s.10): anonymous callers get an empty list."""
        values = V5_READS["projects"] if auth.ok else []
        return self.ok_envelope(data_result(values), req)

    # -- queries ---------------------------------------------------------------------
    def query_refusal(self, req):
        """User-Agent needed when a Kylin vendor type is asked for explicitly
        (s.10); job nodes refuse queries (s.3.2)."""
        if explicitly_accepts(req.accept, V4S) and not req.header("User-Agent"):
            return self.error(req, 500, "KE-060100201", NO_USER_AGENT,
                              "org.springframework.web.bind.MissingRequestHeaderException: "
                              + NO_USER_AGENT)
        if self.node.mode == "job":
            return self.error(req, 500, "KE-040023202")
        return None

    def query(self, req, auth, m):
        refusal = self.query_refusal(req)
        if refusal:
            return refusal
        sql = str(json_body(req).get("sql", ""))
        data = v5_sql_response(self.node.name, self.node.address, sql, bool(m["prestate"]))
        if req.media == JSON:  # the legacy, un-enveloped answer (s.4.3)
            return json_response(200, data)
        return self.ok_envelope(data, req)

    def async_query(self, req, auth, m):
        refusal = self.query_refusal(req)
        if refusal:
            return refusal
        data = {"query_id": str(uuid.uuid4()), "status": "RUNNING", "info": "still running",
                "server": self.node.address}
        return self.ok_envelope(data, req)

    def tables_and_columns(self, req, auth, m):
        tables = [{"table_NAME": "KYLIN_SALES", "table_SCHEM": "DEFAULT",
                   "columns": [{"column_NAME": "NODE", "type_NAME": "VARCHAR"}],
                   "node": self.node.name}]
        if req.media == JSON:
            return json_response(200, tables)
        return self.ok_envelope(tables, req)

    # -- builds ------------------------------------------------------------------------
    def build(self, req, auth, m):
        """s.4.4: an all/job node (or a routed request) accepts the job."""
        name = BUILD_NAMES.get((req.method, m["kind"]), "JOB_" + m["kind"].upper())
        return self.ok_envelope(v5_jobs(name), req)

    # -- generic -------------------------------------------------------------------------
    def read(self, req, auth, m):
        coll, rest = m["coll"], m["rest"]
        if coll in V5_READS and not rest:
            return self.ok_envelope(data_result(V5_READS[coll]), req)
        return self.ok_envelope({"node": self.node.name}, req)

    def write_ok(self, req, auth, m):
        return self.ok_envelope("", req)

    def not_found(self, req, auth, m):
        return spring_not_found(req.path)

    def ui(self, req, auth, m):
        return ui_page(self.node.name, "v5")


def explicitly_accepts(accept: str, types) -> bool:
    """Whether the Accept header names one of `types` itself (not via a wildcard)."""
    named = {item.split(";")[0].strip().lower() for item in accept.split(",")}
    return bool(named & set(types))


def relay(host: str, req) -> Response:
    """Send `req` to host:port with `routed: true` (BaseFilter) and return its answer."""
    hostname, _, port = host.rpartition(":")
    conn = http.client.HTTPConnection(hostname, int(port), timeout=15)
    try:
        target = req.raw_path + ("?" + req.query if req.query else "")
        conn.putrequest(req.method, target, skip_accept_encoding=True)
        for name, value in req.headers.items():
            if name.lower() not in HOP_BY_HOP:
                conn.putheader(name, value)
        conn.putheader("routed", "true")
        conn.putheader("Content-Length", str(len(req.body)))
        conn.endheaders(req.body)
        answer = conn.getresponse()
        body = answer.read()
        resp = Response(answer.status, body, answer.getheader("Content-Type"))
        for name in ("Set-Cookie", "Location"):
            resp.headers.extend((name, v) for v in answer.headers.get_all(name) or [])
        return resp
    finally:
        conn.close()

