"""Profile `v4`: a Kylin 3.x/4.x node (Tomcat WAR under /kylin).

Follows kylin-rest.md s.2.1 (envelopes, errors), s.3.1 (modes, Curator
leadership), s.4.1 E1-E5, s.4.2 E12-E13, s.4.3-4.4, s.5.1 (Tomcat sessions,
401 HTML without WWW-Authenticate) and s.10 (permitAll list, KYLIN-3569).
"""

from __future__ import annotations

import hashlib

from sim_app import KylinApp, R, json_body
from sim_common import ADMIN, AUTH, PERMIT, Response, envelope, json_response, to_json
from sim_pages import (V4_READS, job_instance, sql_response, tomcat_page, ui_page,
                       v4_error, v4_user_details)

JSON_UTF8 = "application/json;charset=UTF-8"
NOT_CURATOR = ("Only meaningful when scheduler is CuratorScheduler, try set "
               "kylin.job.scheduler.default to 100 to enable CuratorScheduler.")
BUILD_ACTIONS = (r"build2?|rebuild2?|automerge|optimize2?|refresh_lookup|holes|"
                 r"init_start_offsets|recover_segment_optimize/[^/]+")
READ_COLLECTIONS = (r"projects|cubes|cube_desc|models|model|jobs|tables|hybrids|user|"
                    r"user_group|access|acl|saved_queries|encodings|streaming|query|diag|"
                    r"kafka|dashboard|service_discovery|extFilter|cubes_with_desc")


class V4App(KylinApp):
    ROUTES = [
        # s.10 permitAll list and E1-E5
        R("GET", r"/api/admin/version", PERMIT, "version"),
        R("GET", r"/api/admin/public_config", PERMIT, "public_config"),
        R("GET", r"/api/admin/config", ADMIN, "config"),
        R("*", r"/api/admin[^/]*(/.*)?", ADMIN, "write_ok"),
        R("GET", r"/api/service_discovery/state/is_active_job_node", PERMIT, "is_active_job_node"),
        R("GET", r"/api/service_discovery/state/all", AUTH, "discovery_state"),
        R("GET|POST", r"/api/user/authentication[^/]*(/.*)?", PERMIT, "user_authentication"),
        R("*", r"/j_spring_security_logout", PERMIT, "logout", auth_filter=False),
        R("*", r"/api/cache[^/]*(/.*)?", PERMIT, "write_ok"),
        R("PUT", r"/api/jobs/spark", PERMIT, "write_ok"),
        R("*", r"/api/streaming_coordinator(/.*)?", PERMIT, "write_ok"),
        R("*", r"/api/.*/metrics", PERMIT, "write_ok"),
        # s.4.3 queries
        R("POST", r"/api/query(?P<prestate>/prestate)?", AUTH, "query"),
        R("GET", r"/api/tables_and_columns", AUTH, "tables_and_columns"),
        R("GET", r"/api/query/runningQueries", ADMIN, "read"),
        # s.4.4 builds and job control: accepted on any node (KYLIN-3569)
        R("PUT", rf"/api/cubes/(?P<cube>[^/]+)/(?P<action>{BUILD_ACTIONS})", AUTH, "build"),
        R("PUT", r"/api/cubes/(?P<cube>[^/]+)/segs/[^/]+/(?P<action>refresh_lookup)", AUTH, "build"),
        R("PUT", r"/api/jobs/(?P<job>[^/]+)/(?P<action>resume|cancel|pause|resubmit|"
                 r"steps/[^/]+/rollback)", AUTH, "job_control"),
        R("DELETE", r"/api/jobs/(?P<job>[^/]+)/(?P<action>drop)", AUTH, "job_control"),
        # everything else under /api/** needs authentication
        R("GET", rf"/api/(?P<coll>{READ_COLLECTIONS})(?P<rest>/.*)?", AUTH, "read"),
        R("GET", r"/api(/.*)?", AUTH, "not_found"),
        R("*", r"/api(/.*)?", AUTH, "write_ok"),
        # UI routes (web.xml maps unknown paths to index.html)
        R("GET", r"/.*", PERMIT, "ui"),
        R("*", r".*", PERMIT, "not_found"),
    ]

    # -- security hooks (s.5.1) ---------------------------------------------------
    def unauthorized(self, req):
        return tomcat_page(401)

    def forbidden(self, req):
        return tomcat_page(403)

    def bad_credentials(self, req, auth):
        return tomcat_page(401)

    def fault_error(self, req):
        return v4_error(500, "Simulated failure of node " + self.node.name, self.url(req),
                        "java.lang.RuntimeException: simulated failure")

    # -- E5 / E3 / E4 / E1 / E2 ----------------------------------------------------
    def version(self, req, auth, m):
        commit = hashlib.sha1(self.node.version.encode()).hexdigest()
        return json_response(200, {"kylin.version": self.node.version,
                                   "kylin.version.commitId": commit}, JSON_UTF8)

    def scheduler_value(self) -> str:
        return "100" if self.node.scheduler == "curator" else "0"

    def base_properties(self) -> list:
        """The default kylin.web.properties.whitelist of 3.x/4.x (E3)."""
        return [
            ("kylin.security.profile", "testing"),
            ("kylin.job.scheduler.default", self.scheduler_value()),
            ("kylin.web.timezone", "GMT+8"), ("kylin.query.cache-enabled", "true"),
            ("kylin.env", "QA"), ("kylin.web.hive-limit", "20"),
            ("kylin.storage.default", "4"), ("kylin.engine.default", "6"),
            ("kylin.web.export-allow-admin", "true"), ("kylin.web.export-allow-other", "true"),
            ("kylin.web.dashboard-enabled", "false"),
            ("kylin.security.additional-profiles", ""),
        ]

    def public_properties(self) -> list:
        """E3; --public-mode = kylin.server.mode added to the whitelist."""
        props = self.base_properties()
        if self.node.public_mode:
            props.append(("kylin.server.mode", self.node.mode))
        return props

    def all_properties(self) -> list:
        cluster = [n["host"] for n in self.node.cluster_nodes()]
        with_mode = [f'{n["host"]}:{n["mode"]}' for n in self.node.cluster_nodes()]
        return self.base_properties() + [
            ("kylin.server.mode", self.node.mode),
            ("kylin.server.host-address", self.node.address),
            ("kylin.server.self-discovery-enabled", "true"),
            ("kylin.server.cluster-servers", ",".join(cluster)),
            ("kylin.server.cluster-servers-with-mode", ",".join(with_mode)),
            ("kylin.metadata.url", "kylin_metadata@hbase"),
            ("kylin.server.cluster-name", "kylin_sim"),
        ]

    @staticmethod
    def properties_text(props) -> str:
        return "".join(f"{k}={v}\n" for k, v in props)

    def public_config(self, req, auth, m):
        return json_response(200, {"config": self.properties_text(self.public_properties())},
                             JSON_UTF8)

    def config(self, req, auth, m):
        return json_response(200, {"config": self.properties_text(self.all_properties())},
                             JSON_UTF8)

    def is_active_job_node(self, req, auth, m):
        """E1: bare boolean; 500 when the scheduler is not Curator."""
        if self.node.scheduler != "curator":
            return v4_error(500, NOT_CURATOR, self.url(req),
                            "java.lang.UnsupportedOperationException: " + NOT_CURATOR)
        return Response(200, to_json(self.node.is_active_job_node()), JSON_UTF8)

    def discovery_state(self, req, auth, m):
        """E2, from the shared registry when there is one (no fan-out)."""
        if self.node.scheduler != "curator":
            return v4_error(500, NOT_CURATOR, self.url(req))
        nodes = self.node.cluster_nodes()
        hosts = [n["host"] for n in nodes]
        jobs = [n["host"] for n in nodes if n["mode"] in ("all", "job")]
        leaders = [n["host"] for n in nodes if n["mode"] in ("all", "job") and n.get("leader")]
        data = {"allNodes": hosts, "jobNodes": jobs,
                "queryNodes": [n["host"] for n in nodes if n["mode"] in ("all", "query")],
                "selectedLeaders": leaders, "activeJobNodes": leaders}
        return json_response(200, envelope(data, "get service discovery's state"), JSON_UTF8)

    # -- E12 / E13 -------------------------------------------------------------------
    def user_authentication(self, req, auth, m):
        """E12: userDetails for an authenticated caller, {} otherwise (s.10)."""
        if not auth.ok:
            return json_response(200, {}, JSON_UTF8)
        return json_response(200, {"userDetails": v4_user_details(auth.user)}, JSON_UTF8)

    def logout(self, req, auth, m):
        """E13: invalidate, expire JSESSIONID, 302 to /kylin/. (s.10)."""
        self.authn.logout(req)
        resp = Response(302, headers=[("Location", "/kylin/.")])
        return resp.add_cookies([self.authn.expired_cookie(attrs="Path=/kylin")])

    # -- queries and builds -----------------------------------------------------------
    def query(self, req, auth, m):
        """s.3.1: a job-only node refuses with 400 (2.1+)."""
        if self.node.mode == "job":
            msg = "Query is not allowed in 'job' mode."
            return v4_error(400, msg, self.url(req))
        sql = str(json_body(req).get("sql", ""))
        return json_response(200, sql_response(self.node.name, sql, bool(m["prestate"])), JSON_UTF8)

    def tables_and_columns(self, req, auth, m):
        tables = [{"table_NAME": "KYLIN_SALES", "table_SCHEM": "DEFAULT", "columns": [
            {"column_NAME": "NODE", "type_NAME": "VARCHAR", "table_NAME": "KYLIN_SALES"}],
            "node": self.node.name}]
        return json_response(200, tables, JSON_UTF8)

    def build(self, req, auth, m):
        action = m["action"].split("/")[0]
        return json_response(200, job_instance(m["cube"], action, auth.user.name), JSON_UTF8)

    def job_control(self, req, auth, m):
        action = m["action"].split("/")[0]
        return json_response(200, job_instance("kylin_sales_cube", action, auth.user.name,
                                               m["job"]), JSON_UTF8)

    # -- generic ------------------------------------------------------------------------
    def read(self, req, auth, m):
        coll = m.groupdict().get("coll")
        rest = m.groupdict().get("rest")
        if coll in V4_READS and not rest:
            return json_response(200, V4_READS[coll], JSON_UTF8)
        return json_response(200, {"node": self.node.name}, JSON_UTF8)

    def write_ok(self, req, auth, m):
        return json_response(200, envelope(None), JSON_UTF8)

    def not_found(self, req, auth, m):
        return tomcat_page(404)

    def ui(self, req, auth, m):
        return ui_page(self.node.name, "v4")

