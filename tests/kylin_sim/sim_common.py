"""Shared types and small helpers of the Kylin node simulator.

Section numbers in docstrings refer to /work/shared/kylin-rest.md (its
section 10 overrides earlier sections).
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from typing import Optional
from urllib.parse import parse_qs, unquote

# Media types (s.2.2, s.10).
JSON = "application/json"
V4 = "application/vnd.apache.kylin-v4+json"
V4_PUBLIC = "application/vnd.apache.kylin-v4-public+json"
V2 = "application/vnd.apache.kylin-v2+json"
ACTUATOR = "application/vnd.spring-boot.actuator.v3+json"
HTML = "text/html;charset=utf-8"

# Access levels of a route (s.5.1, s.5.2, s.10 permitAll lists).
PERMIT = "permit"
AUTH = "auth"
ADMIN = "admin"

MODES = ("all", "job", "query")
FAULTS = ("none", "500", "garbage", "html", "hang", "slow", "down", "refuse")
FAULT_SCOPES = ("probes", "all")

# Endpoints a balancer prober uses (s.8); the "probes" fault scope.
PROBE_PATHS = frozenset(
    "/kylin/api/" + p
    for p in (
        "health",
        "admin/version",
        "admin/public_config",
        "admin/config",
        "service_discovery/state/is_active_job_node",
        "system/servers",
        "query/servers",
        "epoch/maintenance_mode",
        "system/host",
    )
)


@dataclass(frozen=True)
class User:
    """A user of the default `testing` security profile."""

    name: str
    password: str
    roles: tuple

    @property
    def authorities(self) -> list:
        return [{"authority": r} for r in self.roles] + [{"authority": "ALL_USERS"}]

    @property
    def is_admin(self) -> bool:
        return "ROLE_ADMIN" in self.roles


USERS = {
    u.name: u
    for u in (
        User("ADMIN", "KYLIN", ("ROLE_ADMIN",)),
        User("ANALYST", "ANALYST", ("ROLE_ANALYST",)),
        User("MODELER", "MODELER", ("ROLE_MODELER",)),
    )
}


def find_user(name: str) -> Optional[User]:
    """Users are looked up case-insensitively, as Kylin 5 does."""
    return USERS.get(name.upper())


@dataclass
class Request:
    """One parsed HTTP request."""

    method: str
    path: str
    query: str
    headers: object  # http.client.HTTPMessage
    body: bytes = b""
    cookies: list = field(default_factory=list)  # [(name, value)] in order
    media: Optional[str] = None  # the produced type chosen by negotiate()
    raw_path: str = ""  # the path as received, before normalize_path()
    bad_path: bool = False  # normalize_path() refused it (answered 400)

    def header(self, name: str, default: str = "") -> str:
        value = self.headers.get(name)
        return default if value is None else value

    @property
    def params(self) -> dict:
        return {k: v[-1] for k, v in parse_qs(self.query).items()}

    @property
    def accept(self) -> str:
        return self.header("Accept")

    @property
    def routed(self) -> bool:
        """True when the request carries Kylin 5's node-to-node `routed` header."""
        return self.headers.get("routed") is not None

    def cookie_values(self, name: str) -> list:
        return [v for n, v in self.cookies if n == name]

    def cookie_names(self) -> list:
        return [n for n, _ in self.cookies]

    def basic_credentials(self):
        """Return (user, password), None (no Basic header) or ("", None) if malformed."""
        value = self.header("Authorization").strip()
        if not value:
            return None
        scheme, _, token = value.partition(" ")
        if scheme.lower() != "basic":
            return ("", None)
        try:
            decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return ("", None)
        user, sep, password = decoded.partition(":")
        return (user, password) if sep else ("", None)


@dataclass
class Response:
    """One HTTP response; `headers` holds extra (name, value) pairs."""

    status: int
    body: bytes = b""
    content_type: Optional[str] = None
    headers: list = field(default_factory=list)

    def add_cookies(self, cookies) -> "Response":
        self.headers.extend(("Set-Cookie", c) for c in cookies)
        return self


@dataclass
class AuthResult:
    """How a request was authenticated (the log's `auth` field).

    kind: basic | session | anonymous | bad-basic | bad-session | locked
    """

    kind: str
    user: Optional[User] = None
    set_cookies: list = field(default_factory=list)
    session_reused: bool = False
    lock_seconds: int = 0
    attempted: Optional[str] = None  # Basic user name of a bad-basic/locked request

    @property
    def user_name(self) -> Optional[str]:
        return self.user.name if self.user else self.attempted

    @property
    def ok(self) -> bool:
        return self.user is not None


def parse_cookies(header_values) -> list:
    """Parse one or more Cookie headers into [(name, value)], keeping duplicates."""
    pairs = []
    for header in header_values:
        for part in header.split(";"):
            name, sep, value = part.strip().partition("=")
            if sep and name:
                pairs.append((name.strip(), value.strip().strip('"')))
    return pairs


def split_target(target: str):
    """(path, query) of a request-target (origin form, or absolute form)."""
    if re.match(r"https?://", target, re.I):
        target = "/" + target.split("/", 3)[3] if target.count("/") >= 3 else "/"
    path, _, query = target.partition("?")
    return path.split("#")[0], query


def normalize_path(raw: str) -> str:
    """The path as Tomcat hands it to the servlet: ';' path parameters dropped,
    %XX decoded, repeated '/' merged, dot segments resolved. ValueError (400)
    for an encoded '/' or '\\' or a '..' above the root."""
    if re.search(r"%2f|%5c", raw, re.I) or not raw.startswith("/"):
        raise ValueError("rejected path")
    segments = []
    for seg in raw.split("/"):
        seg = unquote(seg.split(";")[0])
        if seg in ("", "."):
            continue
        if seg == "..":
            if not segments:
                raise ValueError("path above root")
            segments.pop()
            continue
        segments.append(seg)
    path = "/" + "/".join(segments)
    return path + "/" if segments and raw.endswith("/") else path


def to_json(obj) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode("utf-8")


def json_response(status: int, obj, content_type: str = JSON) -> Response:
    return Response(status, to_json(obj), content_type)


def envelope(data, msg: str = "") -> dict:
    """Kylin's EnvelopeResponse {code,data,msg} (s.2.1, s.2.2)."""
    return {"code": "000", "data": data, "msg": msg}


def negotiate(accept: str, produces) -> Optional[str]:
    """Spring-like content negotiation (s.10): the produced type chosen, or None (406).

    An absent Accept, `*/*` and `type/*` match; q=0 entries are ignored.
    """
    if not accept.strip():
        return produces[0]
    for item in accept.split(","):
        parts = [p.strip() for p in item.split(";")]
        media = parts[0].lower()
        if any(re.fullmatch(r"q=0(\.0*)?", p) for p in parts[1:]):
            continue
        for produced in produces:
            if media in ("*/*", produced) or (
                media.endswith("/*") and produced.startswith(media[:-1])
            ):
                return produced
    return None


def fake_stacktrace(exception: str) -> str:
    return (
        f"{exception}\n\tat org.apache.kylin.rest.controller.BasicController.handle"
        "(BasicController.java:0)\n\tat kylin_sim (simulated)\n"
    )
