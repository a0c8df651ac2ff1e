"""Routing skeleton shared by the two profiles (v4 = Kylin 3.x/4.x, v5 = Kylin 5.x).

A profile is a `KylinApp` subclass with a route table; `dispatch` applies the
security rules of s.5 / s.10 in Spring's order: Basic/session filter (a bad or
locked Basic credential fails even on permitAll URLs), URL access rule,
content negotiation (5.x only, s.10), then the handler.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from sim_common import (ADMIN, PERMIT, AuthResult, Request, Response, envelope,
                        json_response, negotiate)


@dataclass
class Route:
    methods: str  # "GET|POST" or "*"
    pattern: str  # regex on the path below /kylin
    access: str  # PERMIT | AUTH | ADMIN
    handler: str  # name of a KylinApp method
    produces: tuple = ()  # media types (5.x); empty = no negotiation
    auth_filter: bool = True  # False: reached before the Basic filter (logout)

    def __post_init__(self):
        self.regex = re.compile(self.pattern)

    def match(self, method: str, sub: str):
        if self.methods != "*" and method not in self.methods.split("|"):
            return None
        return self.regex.fullmatch(sub)


def R(methods, pattern, access, handler, produces=(), auth_filter=True) -> Route:
    return Route(methods, pattern, access, handler, tuple(produces), auth_filter)


def json_body(req: Request) -> dict:
    try:
        data = json.loads(req.body or b"{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


class KylinApp:
    """One Kylin node's web application; `node` is the shared NodeState."""

    ROUTES: list = []

    def __init__(self, node, authn):
        self.node = node
        self.authn = authn

    # -- hooks the profiles implement ------------------------------------------
    def unauthorized(self, req: Request) -> Response:
        raise NotImplementedError

    def forbidden(self, req: Request) -> Response:
        raise NotImplementedError

    def bad_credentials(self, req: Request, auth: AuthResult) -> Response:
        raise NotImplementedError

    def fault_error(self, req: Request) -> Response:
        raise NotImplementedError

    def before_auth(self, req: Request, sub: str):
        """Return (Response, AuthResult, extra) to answer before Spring Security
        (5.x write forwarding), or None."""
        return None

    # -- dispatch -------------------------------------------------------------------
    def match(self, method: str, sub: str):
        for route in self.ROUTES:
            m = route.match(method, sub)
            if m is not None:
                return route, m
        raise LookupError(sub)  # route tables end with a catch-all

    def dispatch(self, req: Request):
        """Answer one /kylin request: (Response, AuthResult, extra log fields)."""
        sub = req.path[len("/kylin"):]
        if sub == "":
            resp = Response(302, headers=[("Location", "/kylin/")])
            return resp, self.peek(req), {}
        early = self.before_auth(req, sub)
        if early is not None:
            return early
        route, m = self.match(req.method, sub)
        auth = self.authn.authenticate(req) if route.auth_filter else self.peek(req)
        resp = self.check_access(req, route, auth)
        if resp is None:
            resp = getattr(self, route.handler)(req, auth, m)
        resp.add_cookies(auth.set_cookies)
        return resp, auth, {}

    def peek(self, req: Request) -> AuthResult:
        return self.authn.authenticate(req, side_effects=False)

    def check_access(self, req: Request, route: Route, auth: AuthResult):
        """Spring Security's verdict, then content negotiation; None = go on."""
        if auth.kind in ("bad-basic", "locked"):
            return self.bad_credentials(req, auth)
        if route.access != PERMIT:
            if not auth.ok:
                return self.unauthorized(req)
            if route.access == ADMIN and not auth.user.is_admin:
                return self.forbidden(req)
        if route.produces:
            req.media = negotiate(req.accept, route.produces)
            if req.media is None:
                return Response(406)  # Spring: no body (s.10)
        return None

    # -- helpers for handlers ----------------------------------------------------------
    def url(self, req: Request) -> str:
        """The `url` field of an ErrorResponse."""
        return f"http://{self.node.address}{req.path}"

    def ok_envelope(self, data="", req: Request = None) -> Response:
        ctype = req.media if req is not None and req.media else "application/json"
        return json_response(200, envelope(data), ctype)
