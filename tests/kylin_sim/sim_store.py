"""State of the simulated cluster: node registry, sessions, login lock-out.

Kylin 2.x-4.x keeps sessions in each Tomcat's memory (s.5.1), so `MemorySessions`
lives in the process. Kylin 5 keeps them in the metastore through Spring Session
JDBC (s.5.2) and registers nodes in ZooKeeper (s.3.2); here a directory shared by
the node processes of one cluster plays both roles (`SharedDir`).

Every file in the shared directory is written to a temporary name and renamed
into place, so readers never see half a file; read-modify-write sequences (the
login-failure counters) hold an fcntl lock on `<dir>/.lock`.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import json
import os
import re
import secrets
import threading
import time
import uuid
from contextlib import contextmanager
from typing import Optional

NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")

# s.10: the 3rd consecutive failure locks for 30 s, then 1 min, 5 min, 10 min,
# 30 min, 1 day, 3 days; the 10th failure locks for good.
LOCK_STEPS = (30, 60, 300, 600, 1800, 86400, 259200)
LOCK_FOREVER = 10**9


def write_json_atomic(path: str, obj) -> None:
    """Write `obj` as JSON to `path` via a unique temporary file and rename."""
    tmp = f"{path}.tmp.{os.getpid()}.{threading.get_ident()}.{secrets.token_hex(4)}"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(obj, f)
    os.replace(tmp, path)


def read_json(path: str):
    """Return the parsed file, or None when it is missing or unreadable."""
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def remove_quietly(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass


def pid_alive(pid) -> bool:
    """Whether a process exists (registrations of killed nodes are ignored,
    like ZooKeeper ephemeral nodes of a dead session)."""
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, ValueError, TypeError):
        return True
    return True


class SharedDir:
    """The directory shared by the nodes of one simulated cluster."""

    def __init__(self, path: str):
        self.path = os.path.abspath(path)
        for sub in ("nodes", "sessions", "users"):
            os.makedirs(os.path.join(self.path, sub), exist_ok=True)
        self._thread_lock = threading.Lock()

    def file(self, *parts: str) -> str:
        return os.path.join(self.path, *parts)

    @contextmanager
    def locked(self):
        """Cluster-wide mutual exclusion (threads and processes)."""
        with self._thread_lock, open(self.file(".lock"), "a") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    # -- node registry (s.3.2, E7) ------------------------------------------
    def register(self, info: dict) -> None:
        write_json_atomic(self.file("nodes", info["name"] + ".json"), info)

    def unregister(self, name: str) -> None:
        remove_quietly(self.file("nodes", name + ".json"))

    def nodes(self) -> list:
        """Registered nodes of live processes, sorted by name."""
        found = []
        for entry in sorted(os.listdir(self.file("nodes"))):
            if not entry.endswith(".json"):
                continue
            info = read_json(self.file("nodes", entry))
            if isinstance(info, dict) and pid_alive(info.get("pid")):
                found.append(info)
        return found

    # -- cluster-wide maintenance mode (E10) ----------------------------------
    def maintenance(self) -> dict:
        data = read_json(self.file("maintenance.json"))
        return data if isinstance(data, dict) else {"on": False, "reason": None}

    def set_maintenance(self, on: bool, reason: Optional[str] = None) -> None:
        write_json_atomic(self.file("maintenance.json"), {"on": bool(on), "reason": reason})


class MemorySessions:
    """Tomcat's in-memory session manager (s.5.1): ids valid on this node only."""

    def __init__(self, timeout: float):
        self.timeout = timeout
        self._lock = threading.Lock()
        self._sessions = {}  # id -> [user name, last access]

    @staticmethod
    def valid_id(sid: str) -> bool:
        return bool(re.fullmatch(r"[0-9A-F]{32}", sid))

    def create(self, user: str) -> str:
        sid = secrets.token_hex(16).upper()
        with self._lock:
            self._sessions[sid] = [user, time.time()]
        return sid

    def get(self, sid: str, touch: bool = True) -> Optional[str]:
        """The user of a live session, or None."""
        now = time.time()
        with self._lock:
            entry = self._sessions.get(sid)
            if entry is None:
                return None
            if now - entry[1] > self.timeout:
                del self._sessions[sid]
                return None
            if touch:
                entry[1] = now
            return entry[0]

    def invalidate(self, sid: str) -> None:
        with self._lock:
            self._sessions.pop(sid, None)

    def count(self) -> int:
        with self._lock:
            return len(self._sessions)


class SharedSessions:
    """Spring Session JDBC stand-in (s.5.2): one file per session in the shared
    dir, so every node of the cluster accepts every session."""

    def __init__(self, shared: SharedDir, timeout: float):
        self.shared = shared
        self.timeout = timeout
        self._creations = 0

    @staticmethod
    def valid_id(sid: str) -> bool:
        """Cookie values are base64 of a UUID string (DefaultCookieSerializer)."""
        try:
            uuid.UUID(base64.b64decode(sid, validate=True).decode("ascii"))
        except ValueError:
            return False
        return True

    def _path(self, sid: str) -> str:
        digest = hashlib.sha256(sid.encode()).hexdigest()
        return self.shared.file("sessions", digest + ".json")

    def create(self, user: str) -> str:
        sid = base64.b64encode(str(uuid.uuid4()).encode()).decode()
        write_json_atomic(self._path(sid), {"user": user, "created": time.time()})
        self._creations += 1
        if self._creations % 200 == 0:
            self.purge_expired()
        return sid

    def get(self, sid: str, touch: bool = True) -> Optional[str]:
        """The session's user, or None. Last access = the file's mtime, so a
        touch (utime) can never resurrect a session another node removed."""
        path = self._path(sid)
        try:
            idle = time.time() - os.stat(path).st_mtime
        except OSError:
            return None
        if idle > self.timeout:
            remove_quietly(path)
            return None
        data = read_json(path)
        if not isinstance(data, dict):
            return None
        if touch:
            try:
                os.utime(path)
            except OSError:
                return None
        return data.get("user")

    def invalidate(self, sid: str) -> None:
        remove_quietly(self._path(sid))

    def count(self) -> int:
        return len(os.listdir(self.shared.file("sessions")))

    def purge_expired(self) -> None:
        folder = self.shared.file("sessions")
        now = time.time()
        for entry in os.listdir(folder):
            path = os.path.join(folder, entry)
            try:
                if now - os.stat(path).st_mtime > self.timeout:
                    remove_quietly(path)
            except OSError:
                pass


class LoginLimiter:
    """Kylin 5 UserLockRuleUtil (s.10): failed-login counters and locks, kept in
    the shared dir so the lock is cluster-wide."""

    def __init__(self, shared: SharedDir, first_lock_seconds: int = LOCK_STEPS[0]):
        self.shared = shared
        self.steps = (first_lock_seconds,) + LOCK_STEPS[1:]

    def _path(self, user: str) -> str:
        return self.shared.file("users", user + ".json")

    def locked_for(self, user: str) -> int:
        """Seconds the user stays locked (0 = not locked)."""
        data = read_json(self._path(user)) or {}
        remaining = data.get("locked_until", 0) - time.time()
        return max(0, int(remaining + 0.999))

    def failure(self, user: str) -> int:
        """Count one failed login; return the lock length it started (0 = none)."""
        with self.shared.locked():
            data = read_json(self._path(user)) or {"wrong": 0, "locked_until": 0}
            data["wrong"] += 1
            seconds = self._lock_length(data["wrong"])
            if seconds:
                data["locked_until"] = time.time() + seconds
            write_json_atomic(self._path(user), data)
        return seconds

    def _lock_length(self, wrong: int) -> int:
        if wrong < 3:
            return 0
        if wrong >= 10:
            return LOCK_FOREVER
        return self.steps[min(wrong - 3, len(self.steps) - 1)]

    def success(self, user: str) -> None:
        """A successful login resets the counter."""
        if not os.path.exists(self._path(user)):
            return
        with self.shared.locked():
            remove_quietly(self._path(user))

    def reset_all(self) -> None:
        with self.shared.locked():
            folder = self.shared.file("users")
            for entry in os.listdir(folder):
                remove_quietly(os.path.join(folder, entry))


def session_cookie_name(metadata_url: str) -> str:
    """Kylin 5 session cookie name (s.10, BootstrapServer.cookieSerializer).

    name = sha256hex((identifier + "_" + url-parameter) with non-word chars -> "_").
    A Kylin-style URL `ident@jdbc,url=...` gives both parts; a bare JDBC URL is
    taken as the `url` parameter with Kylin 5's default identifier
    `kylin_metadata`. The default `jdbc:postgresql://localhost:5432/kylin`
    yields 7c6c6e3e...df64b6, as documented.
    """
    identifier, url_param = "kylin_metadata", metadata_url
    if "@" in metadata_url.split(",", 1)[0]:
        identifier, _, rest = metadata_url.partition("@")
        params = dict(p.partition("=")[::2] for p in rest.split(",")[1:])
        url_param = params.get("url")
    name = identifier + ("" if url_param is None else "_" + url_param)
    return hashlib.sha256(re.sub(r"\W", "_", name).encode()).hexdigest()
