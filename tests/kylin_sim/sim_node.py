"""One simulated node: its settings, request log, faults and HTTP server.

The `/_sim/*` control API lives here; it is never affected by faults and its
requests are not logged. Everything under `/kylin` goes to the profile app
(sim_v4.V4App or sim_v5.V5App) unless a fault answers first.
"""

from __future__ import annotations

import collections
import hashlib
import json
import os
import secrets
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

from sim_auth import Authenticator
from sim_common import (FAULT_SCOPES, FAULTS, HTML, MODES, PROBE_PATHS, Request, Response,
                        json_response, normalize_path, parse_cookies, split_target)
from sim_store import (LoginLimiter, MemorySessions, SharedDir, SharedSessions,
                       session_cookie_name)

LOG_SIZE = 5000
HANG_LIMIT = 600.0
MAX_BODY = 64 * 1024 * 1024


class NodeState:
    """Configuration, live settings and counters of one node (thread-safe)."""

    def __init__(self, cfg):
        self.name = cfg.name
        self.profile = cfg.profile
        self.host = cfg.host
        self.port = cfg.port
        self.version = cfg.version
        self.public_mode = cfg.public_mode
        self.metadata_url = cfg.metadata_url
        self.mode = cfg.mode
        self.leader = cfg.leader
        self.scheduler = cfg.scheduler
        self.fault = "none"
        self.fault_scope = "all"
        self.delay_ms = 0
        self.local_maintenance = {"on": False, "reason": None}
        self.shared = SharedDir(cfg.shared_dir) if cfg.shared_dir else None
        self.started = time.time()
        self.lock = threading.Lock()
        self.fault_changed = threading.Condition(self.lock)
        self.log = collections.deque(maxlen=LOG_SIZE)
        self.seq = 0
        self.by_status = collections.Counter()
        self.authn = self._make_authenticator(cfg)

    def _make_authenticator(self, cfg) -> Authenticator:
        if self.profile == "v4":
            sessions = MemorySessions(cfg.session_timeout or 480 * 60)
            return Authenticator(sessions, "JSESSIONID", "Path=/kylin; HttpOnly")
        sessions = SharedSessions(self.shared, cfg.session_timeout or 600)
        limiter = LoginLimiter(self.shared, cfg.lock_seconds)
        return Authenticator(sessions, session_cookie_name(self.metadata_url),
                             "Path=/kylin/; HttpOnly; SameSite=Lax", limiter)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    # -- cluster view -----------------------------------------------------------
    def registration(self) -> dict:
        return {"name": self.name, "host": self.address, "mode": self.mode,
                "leader": self.leader, "profile": self.profile, "pid": os.getpid(),
                "secretName": hashlib.sha256(self.address.encode()).hexdigest()[:32]}

    def register(self) -> None:
        if self.shared:
            self.shared.register(self.registration())

    def unregister(self) -> None:
        if self.shared:
            self.shared.unregister(self.name)

    def cluster_nodes(self) -> list:
        """Registered nodes (E7); without a shared dir only this node."""
        if self.shared:
            return self.shared.nodes()
        return [self.registration()]

    def job_capable_nodes(self) -> list:
        """Registered all/job nodes other than this one, leaders first."""
        nodes = [n for n in self.cluster_nodes()
                 if n["mode"] in ("all", "job") and n["name"] != self.name]
        return sorted(nodes, key=lambda n: (not n.get("leader"), n["name"]))

    def is_active_job_node(self) -> bool:
        """E1: the Curator leader among all/job nodes."""
        return self.leader and self.mode != "query"

    def maintenance_state(self) -> dict:
        """Kylin 5 maintenance mode is cluster-wide (metastore), so it lives in
        the shared dir when there is one."""
        if self.shared:
            return self.shared.maintenance()
        return dict(self.local_maintenance)

    def maintenance_on(self) -> bool:
        return bool(self.maintenance_state()["on"])

    def set_maintenance(self, on: bool, reason=None) -> None:
        if self.shared:
            self.shared.set_maintenance(on, reason)
        else:
            self.local_maintenance = {"on": bool(on), "reason": reason}

    # -- control API ----------------------------------------------------------------
    def apply_control(self, changes: dict) -> None:
        """Validate then apply a /_sim/control body; ValueError on bad input."""
        if not isinstance(changes, dict):
            raise ValueError("body must be a JSON object")
        known = {"mode", "leader", "scheduler", "maintenance", "maintenance_reason", "fault",
                 "fault_scope", "delay_ms", "reset_locks", "public_mode"}
        unknown = set(changes) - known
        if unknown:
            raise ValueError(f"unknown keys: {sorted(unknown)}")
        self._validate(changes)
        with self.lock:
            for key in ("mode", "leader", "scheduler", "fault", "fault_scope", "public_mode"):
                if key in changes:
                    setattr(self, key, changes[key])
            if "delay_ms" in changes:
                self.delay_ms = int(changes["delay_ms"])
            self.fault_changed.notify_all()
        if "maintenance" in changes:
            self.set_maintenance(changes["maintenance"], changes.get("maintenance_reason"))
        if changes.get("reset_locks") and self.shared:
            LoginLimiter(self.shared).reset_all()
        if {"mode", "leader"} & set(changes):
            self.register()

    @staticmethod
    def _validate(c: dict) -> None:
        checks = [
            ("mode", lambda v: v in MODES),
            ("leader", lambda v: isinstance(v, bool)),
            ("public_mode", lambda v: isinstance(v, bool)),
            ("scheduler", lambda v: v in ("curator", "default")),
            ("maintenance", lambda v: isinstance(v, bool)),
            ("fault", lambda v: v in FAULTS),
            ("fault_scope", lambda v: v in FAULT_SCOPES),
            ("delay_ms", lambda v: isinstance(v, int) and not isinstance(v, bool)
             and 0 <= v <= 600000),
        ]
        for key, ok in checks:
            if key in c and not ok(c[key]):
                raise ValueError(f"bad value for {key}: {c[key]!r}")

    def snapshot(self) -> dict:
        with self.lock:
            state = {
                "name": self.name, "profile": self.profile, "version": self.version,
                "host": self.host, "port": self.port, "address": self.address,
                "pid": os.getpid(), "mode": self.mode, "leader": self.leader,
                "scheduler": self.scheduler, "public_mode": self.public_mode,
                "fault": self.fault, "fault_scope": self.fault_scope,
                "delay_ms": self.delay_ms, "requests": self.seq,
                "by_status": {str(k): v for k, v in sorted(self.by_status.items(),
                                                            key=lambda kv: str(kv[0]))},
                "started": self.started,
                "shared_dir": self.shared.path if self.shared else None,
                "metadata_url": self.metadata_url,
                "session_cookie": self.authn.cookie_name,
            }
        state["is_active_job_node"] = self.is_active_job_node()
        state["maintenance"] = self.maintenance_on()
        state["sessions"] = self.authn.sessions.count()
        return state

    # -- faults -----------------------------------------------------------------------
    def fault_plan(self, path: str):
        """(fault, delay seconds) for one /kylin request.

        `fault_scope` "probes" limits the fault to PROBE_PATHS. `down` affects only
        the v5 health endpoint. `slow` delays in-scope answers by delay_ms (1000 ms
        if unset); with any other fault, or none, delay_ms delays every /kylin answer.
        """
        with self.lock:
            fault, scope, delay_ms = self.fault, self.fault_scope, self.delay_ms
        in_scope = scope == "all" or path in PROBE_PATHS
        if fault == "slow":
            return "none", ((delay_ms or 1000) / 1000.0 if in_scope else 0.0)
        if not in_scope or (fault == "down" and not (
                self.profile == "v5" and path.startswith("/kylin/api/health"))):
            fault = "none"
        return fault, delay_ms / 1000.0

    def wait_while_hanging(self) -> None:
        """Block until the hang fault is cleared (or HANG_LIMIT seconds)."""
        deadline = time.time() + HANG_LIMIT
        with self.lock:
            while self.fault == "hang" and time.time() < deadline:
                self.fault_changed.wait(timeout=1.0)

    # -- request log ----------------------------------------------------------------------
    def record(self, entry: dict) -> None:
        with self.lock:
            self.seq += 1
            entry["seq"] = self.seq
            self.by_status[entry["status"]] += 1
            self.log.append(entry)

    def entries_since(self, since: int) -> dict:
        with self.lock:
            return {"next": self.seq + 1, "entries": [e for e in self.log if e["seq"] >= since]}

    def clear_log(self) -> None:
        with self.lock:
            self.log.clear()


def fault_response(fault: str, app, req: Request) -> Response:
    """The answer of an error-type fault (500, garbage, html, down)."""
    if fault == "500":
        return app.fault_error(req)
    if fault == "garbage":
        return Response(200, b"\xff\xfe<<garbage " + secrets.token_bytes(48) + b"\x00",
                        "application/json;charset=UTF-8")
    if fault == "html":
        page = f"<!doctype html><html><head><title>Maintenance</title></head><body><h1>" \
               f"Down for maintenance ({app.node.name})</h1></body></html>"
        return Response(200, page.encode(), HTML)
    return json_response(503, {"status": "DOWN", "components": {"metaStore": {"status": "DOWN"}}},
                         "application/vnd.spring-boot.actuator.v3+json")


class SimHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # headers and body leave in separate writes: without TCP_NODELAY every
    # answer waits ~40 ms for a delayed ACK (Nagle), like no real Tomcat
    disable_nagle_algorithm = True
    server_version = "kylin_sim"
    sys_version = ""
    timeout = 120  # idle keep-alive connections are closed after this

    node: NodeState = None  # set by make_server
    app = None

    def version_string(self):
        return self.server_version

    def log_message(self, fmt, *args):  # quiet: the request log is in memory
        pass

    def do_GET(self):
        self.handle_any()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = do_GET

    # -- request reading ---------------------------------------------------------
    def read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self.read_chunked()
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0 or length > MAX_BODY:
            raise ValueError("bad Content-Length")
        return self.rfile.read(length)

    def read_chunked(self) -> bytes:
        chunks = []
        while True:
            size = int(self.rfile.readline(1024).split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline(1024).strip():  # trailers
                    pass
                return b"".join(chunks)
            chunks.append(self.rfile.read(size))
            self.rfile.readline(16)

    def parse(self) -> Request:
        """Read the body and build a Request; `path` is Tomcat-normalized and
        stays the raw path (with `bad_path` set) when normalization fails."""
        raw, query = split_target(self.path)
        method = "GET" if self.command == "HEAD" else self.command
        req = Request(method, raw, query, self.headers, self.read_body(),
                      parse_cookies(self.headers.get_all("Cookie") or []), raw_path=raw)
        try:
            req.path = normalize_path(raw)
        except ValueError:
            req.bad_path = True
        return req

    # -- dispatch ---------------------------------------------------------------------------
    def handle_any(self):
        try:
            req = self.parse()
        except (ValueError, OSError):
            self.close_connection = True
            self.send(Response(400, b"bad request", "text/plain"))
            return
        try:
            if req.bad_path:
                self.reject_path(req)
            elif req.path == "/_sim" or req.path.startswith("/_sim/"):
                self.send(self.control(req))
            elif req.path == "/kylin" or req.path.startswith("/kylin/"):
                self.serve_kylin(req)
            else:
                self.send(Response(404, b"not found", "text/plain"))
        except (ConnectionError, TimeoutError):  # the client went away
            self.close_connection = True
        except Exception:  # a simulator bug must not kill the connection silently
            traceback.print_exc(file=sys.stderr)
            self.close_connection = True
            self.send(Response(500, b"kylin_sim internal error", "text/plain"))

    def reject_path(self, req: Request):
        """Tomcat answers 400 to an encoded '/' or a path escaping the root."""
        if req.raw_path.startswith("/kylin"):
            self.log_entry(req, 400, self.app.peek(req), {})
        self.send(Response(400, b"Bad Request", "text/plain"))

    def serve_kylin(self, req: Request):
        fault, delay = self.node.fault_plan(req.path)
        if fault in ("refuse", "hang"):
            self.log_entry(req, None, self.app.peek(req), {"fault": fault})
            if fault == "hang":
                self.node.wait_while_hanging()
            self.close_connection = True
            return
        if delay:
            time.sleep(delay)
        if fault != "none":
            resp, auth, extra = fault_response(fault, self.app, req), self.app.peek(req), {}
            extra["fault"] = fault
        else:
            resp, auth, extra = self.app.dispatch(req)
        self.log_entry(req, resp.status, auth, extra)
        self.send(resp)

    def log_entry(self, req: Request, status, auth, extra: dict):
        entry = {
            "t": time.time(), "method": self.command, "path": req.path, "raw_path": req.raw_path,
            "query": req.query,
            "status": status, "auth": auth.kind, "user": auth.user_name,
            "session_reused": auth.session_reused, "routed": req.routed,
            "cookies": req.cookie_names(), "accept": req.headers.get("Accept"),
            "ua": req.headers.get("User-Agent"), "fault": None, "forwarded_to": None,
        }
        entry.update(extra)
        self.node.record(entry)

    def control(self, req: Request) -> Response:
        """The /_sim control API."""
        node = self.node
        if req.method == "GET" and req.path == "/_sim/state":
            return json_response(200, node.snapshot())
        if req.method == "POST" and req.path == "/_sim/control":
            try:
                node.apply_control(json.loads(req.body or b"{}"))
            except ValueError as exc:
                return json_response(400, {"error": str(exc)})
            return json_response(200, node.snapshot())
        if req.method == "GET" and req.path == "/_sim/log":
            try:
                since = int(parse_qs(req.query).get("since", ["0"])[-1])
            except ValueError:
                return json_response(400, {"error": "since must be an integer"})
            return json_response(200, node.entries_since(since))
        if req.method == "POST" and req.path == "/_sim/log/clear":
            node.clear_log()
            return json_response(200, {"cleared": True})
        return json_response(404, {"error": "unknown control endpoint"})

    # -- response writing ---------------------------------------------------------------------
    def send(self, resp: Response):
        self.send_response(resp.status)
        self.send_header("X-Kylin-Node", self.node.name)
        if resp.content_type:
            self.send_header("Content-Type", resp.content_type)
        for name, value in resp.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(resp.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        elif self.request_version == "HTTP/1.0":
            self.send_header("Connection", "keep-alive")
        self.end_headers()
        if self.command != "HEAD" and resp.body:
            self.wfile.write(resp.body)
        self.wfile.flush()


class SimServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 128


def make_server(node: NodeState, app) -> SimServer:
    """Bind the listening socket (port 0 = any free port, then node.port is set)."""
    handler = type("BoundSimHandler", (SimHandler,), {"node": node, "app": app})
    server = SimServer((node.host, node.port), handler)
    node.port = server.server_address[1]
    return server
