"""Start and drive kylin_sim nodes from Python tests (stdlib only).

Used by this directory's conftest.py; integration tests may import it too:

    sys.path.insert(0, "<repo>/tests/kylin_sim")
    from sim_launcher import start_node
    n1 = start_node("n1", "v4", mode="job", leader=True)
    n1.url            # "http://127.0.0.1:<port>"
    n1.control(fault="hang", fault_scope="probes")
    n1.log()          # entries of GET /_sim/log
    n1.stop()         # SIGTERM by pid, SIGKILL after 5 s
"""

from __future__ import annotations

import http.client
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SIM = os.path.join(HERE, "kylin_sim.py")


class SimStartError(RuntimeError):
    pass


class HttpResult:
    """status, headers (http.client.HTTPMessage), body bytes."""

    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def json(self):
        return json.loads(self.body)

    def header(self, name):
        return self.headers.get(name)

    def cookies(self) -> list:
        return self.headers.get_all("Set-Cookie") or []

    def __repr__(self):
        return f"<HttpResult {self.status} {self.body[:120]!r}>"


def http_request(host, port, method, path, body=None, headers=None, timeout=10.0) -> HttpResult:
    """One request on a fresh connection."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            headers = {"Content-Type": "application/json", **(headers or {})}
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return HttpResult(resp.status, resp.headers, resp.read())
    finally:
        conn.close()


class SimNode:
    """A running kylin_sim process."""

    def __init__(self, proc, name, host, port, profile, stderr_path):
        self.proc, self.name, self.host, self.port = proc, name, host, port
        self.profile, self.stderr_path = profile, stderr_path

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    def request(self, method, path, body=None, headers=None, timeout=10.0) -> HttpResult:
        return http_request(self.host, self.port, method, path, body, headers, timeout)

    def get(self, path, headers=None, **kw) -> HttpResult:
        return self.request("GET", path, None, headers, **kw)

    def state(self) -> dict:
        return self.get("/_sim/state").json()

    def control(self, **changes) -> dict:
        res = self.request("POST", "/_sim/control", changes)
        if res.status != 200:
            raise ValueError(res.body.decode())
        return res.json()

    def log(self, since: int = 0) -> list:
        return self.get(f"/_sim/log?since={since}").json()["entries"]

    def clear_log(self) -> None:
        self.request("POST", "/_sim/log/clear", b"")

    def cleanup(self) -> None:
        """Stop the node and remove its stderr file."""
        self.stop()
        try:
            os.remove(self.stderr_path)
        except OSError:
            pass

    def stderr(self) -> str:
        try:
            with open(self.stderr_path, encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stop(self, timeout: float = 5.0) -> int:
        """SIGTERM by pid (clean exit unregisters the node), then SIGKILL."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout)
        if self.proc.stdout:
            self.proc.stdout.close()
        return self.proc.returncode


def build_args(name, profile, mode, port, host, leader, scheduler, version, public_mode,
               shared_dir, metadata_url, extra) -> list:
    args = [SIM, "--port", str(port), "--host", host, "--name", name,
            "--profile", profile, "--mode", mode, "--scheduler", scheduler]
    for flag, value in (("--leader", leader), ("--public-mode", public_mode)):
        if value:
            args.append(flag)
    for flag, value in (("--version", version), ("--shared-dir", shared_dir),
                        ("--metadata-url", metadata_url)):
        if value:
            args += [flag, str(value)]
    return args + list(extra)


def start_node(name, profile, mode="all", port=0, host="127.0.0.1", leader=False,
               scheduler="curator", version=None, public_mode=False, shared_dir=None,
               metadata_url=None, extra=(), python=None, timeout=5.0) -> SimNode:
    """Start a node, wait for its ready line and for /_sim/state to answer."""
    args = build_args(name, profile, mode, port, host, leader, scheduler, version,
                      public_mode, shared_dir, metadata_url, extra)
    label = "".join(c if c.isalnum() else "_" for c in name)
    err = tempfile.NamedTemporaryFile(prefix=f"kylin_sim_{label}_", suffix=".err", delete=False)
    proc = subprocess.Popen([python or sys.executable, *args], stdout=subprocess.PIPE,
                            stderr=err, stdin=subprocess.DEVNULL)
    err.close()
    node = SimNode(proc, name, host, port, profile, err.name)
    try:
        node.port = wait_ready_line(proc, timeout)
        wait_state(node, timeout)
    except SimStartError as exc:
        stderr = node.stderr()
        node.cleanup()
        raise SimStartError(f"{exc}\n--- stderr of {name} ---\n{stderr}") from None
    return node


def wait_ready_line(proc, timeout: float) -> int:
    """Port from 'kylin_sim <name> listening on host:port'."""
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    line = proc.stdout.readline().decode() if ready else ""
    if " listening on " not in line:
        raise SimStartError(f"node did not start (exit code {proc.poll()}, output {line!r})")
    return int(line.rsplit(":", 1)[1])


def wait_state(node: SimNode, timeout: float) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if node.get("/_sim/state", timeout=1.0).status == 200:
                return
        except OSError:
            pass
        time.sleep(0.02)
    raise SimStartError("/_sim/state did not answer")
