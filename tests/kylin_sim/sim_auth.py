"""Authentication as Spring Security does it in front of Kylin (s.5.1, s.5.2, s.10).

One `Authenticator` per node. It combines the session cookie (Tomcat JSESSIONID
on 2.x-4.x, the Spring Session cookie on 5.x) with HTTP Basic:

* a valid session and no Basic header -> "session";
* a Basic header for the user already authenticated by the session is not
  re-checked (BasicAuthenticationFilter.authenticationIsRequired) -> "session";
* otherwise a Basic header is verified; success creates a new session
  (session-fixation `newSession`) and answers Set-Cookie -> "basic";
  failure -> "bad-basic" (5.x: counted; the 3rd consecutive failure locks);
* a locked user (5.x) -> "locked", whatever the password;
* an unknown/expired session cookie alone -> "bad-session"; nothing -> "anonymous".
"""

from __future__ import annotations

from typing import Optional

from sim_common import AuthResult, Request, find_user

EPOCH_EXPIRES = "Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT"


class Authenticator:
    def __init__(self, sessions, cookie_name: str, cookie_attrs: str, limiter=None):
        self.sessions = sessions
        self.cookie_name = cookie_name
        self.cookie_attrs = cookie_attrs
        self.limiter = limiter  # LoginLimiter on 5.x, None on 2.x-4.x

    # -- cookies -------------------------------------------------------------
    def cookie(self, sid: str) -> str:
        return f"{self.cookie_name}={sid}; {self.cookie_attrs}"

    def expired_cookie(self, name: Optional[str] = None, attrs: Optional[str] = None) -> str:
        name = name or self.cookie_name
        attrs = attrs if attrs is not None else self.cookie_attrs
        return f"{name}=; {EPOCH_EXPIRES}; {attrs}"

    # -- sessions ------------------------------------------------------------
    def session_of(self, req: Request, touch: bool = True):
        """(session id, User) of the first valid session cookie, and whether
        any cookie of the session name was presented."""
        presented = False
        for sid in req.cookie_values(self.cookie_name):
            presented = True
            if not self.sessions.valid_id(sid):
                continue
            name = self.sessions.get(sid, touch=touch)
            user = find_user(name) if name else None
            if user is not None:
                return (sid, user), presented
        return None, presented

    def logout(self, req: Request) -> None:
        """Invalidate every valid session the request presents (s.4.2 E13)."""
        for sid in req.cookie_values(self.cookie_name):
            if self.sessions.valid_id(sid):
                self.sessions.invalidate(sid)

    # -- authentication --------------------------------------------------------
    def authenticate(self, req: Request, side_effects: bool = True) -> AuthResult:
        """Classify and authenticate `req`. With side_effects=False nothing is
        created, touched or counted (used to log requests a node only relays)."""
        session, presented = self.session_of(req, touch=side_effects)
        creds = req.basic_credentials()
        if creds is None:
            if session:
                return AuthResult("session", session[1], session_reused=True)
            return AuthResult("bad-session" if presented else "anonymous")
        name, password = creds
        if session and password is not None and session[1].name == name:
            return AuthResult("session", session[1], session_reused=True)
        return self._basic(name, password, session[0] if session else None, side_effects)

    def _basic(self, name: str, password, old_sid, side_effects: bool) -> AuthResult:
        user = find_user(name) if name else None
        if user is not None and self.limiter is not None:
            left = self.limiter.locked_for(user.name)
            if left:
                return AuthResult("locked", lock_seconds=left, attempted=user.name)
        if user is None or password is None or user.password != password:
            if user is not None and self.limiter is not None and side_effects:
                self.limiter.failure(user.name)
            return AuthResult("bad-basic", attempted=name or None)
        if not side_effects:
            return AuthResult("basic", user)
        if self.limiter is not None:
            self.limiter.success(user.name)
        if old_sid:
            self.sessions.invalidate(old_sid)
        sid = self.sessions.create(user.name)
        return AuthResult("basic", user, set_cookies=[self.cookie(sid)])
