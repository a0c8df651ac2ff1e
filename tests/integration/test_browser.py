"""A real browser through the balancer (issue 7 item 5): headless Chromium logs
in on the v4 simulator's UI with its form, reloads (the v4 UI then sends no
Authorization header: only the KYLIN_LB_SESSION cookie authenticates), the node
that served the login is killed, and the user stays logged in: the API answers
200 from another node, with no second login.

The Node.js side is tests/browser/login_failover.mjs (playwright-core driving
Debian's /usr/bin/chromium); scripts/browser-deps.sh installs what it needs the
first time.  Screenshots go to results/browser/ (status.png, ui.png).
Skipped, never failed, when Chromium or Node.js cannot be installed."""
import json
import os
import queue
import shutil
import signal
import subprocess
import threading
import time

import pytest

import harness

PROBE = "KylinProbeInterval 300ms\nKylinProbeTimeout 250ms\n"
# httpd's own account of a connect to a node that was just killed
NODE_DOWN = r"AH00957|AH00959|AH01114"

ROOT = harness.ROOT
BROWSER_DIR = os.path.join(ROOT, "tests", "browser")
SCRIPT = os.path.join(BROWSER_DIR, "login_failover.mjs")
DEPS = os.path.join(ROOT, "scripts", "browser-deps.sh")
RESULTS = os.path.join(ROOT, "results", "browser")
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SCRIPT_TIMEOUT = 60          # the whole browser run
STEP_TIMEOUT = 40            # one phase of it


@pytest.fixture(scope="module")
def node_bin():
    """Installs Chromium, Node.js and playwright-core once; skips if it can't."""
    try:
        r = subprocess.run(["sh", DEPS], capture_output=True, text=True, timeout=900,
                           stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        pytest.skip("scripts/browser-deps.sh took over 15 minutes")
    if r.returncode != 0:
        pytest.skip("browser test skipped: scripts/browser-deps.sh could not install "
                    f"Chromium/Node.js/playwright-core:\n{(r.stdout + r.stderr)[-1500:]}")
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"browser test skipped: no Chromium at {CHROMIUM}")
    node = shutil.which("node")
    if not node:
        pytest.skip("browser test skipped: no node on PATH")
    version = subprocess.run([node, "--version"], capture_output=True, text=True).stdout
    if int(version.lstrip("v").split(".")[0]) < 20:
        pytest.skip(f"browser test skipped: playwright-core 1.65 needs Node.js >= 20, "
                    f"not {version.strip()}")
    if not os.path.exists(os.path.join(BROWSER_DIR, "node_modules", "playwright-core")):
        pytest.skip("browser test skipped: playwright-core is not installed in tests/browser")
    return node


class Script:
    """The node script as a child in its own process group, read line by line."""

    def __init__(self, node, base, results, stderr_path):
        self.stderr_path = stderr_path
        self.proc = subprocess.Popen(
            [node, SCRIPT, base, results], cwd=BROWSER_DIR, text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=open(stderr_path, "w"), start_new_session=True)
        self.lines = queue.Queue()
        self.seen = []
        self.chromium_pid = None
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def next_json(self, deadline, want):
        """The next JSON line holding key `want`, before the deadline."""
        while True:
            left = deadline - time.time()
            if left <= 0:
                raise AssertionError(f"browser script: no {want!r} line in time; "
                                     f"seen {self.seen}\n{self.stderr()}")
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                raise AssertionError(f"browser script ended without {want!r} "
                                     f"(rc={self.proc.wait()}); seen {self.seen}\n"
                                     f"{self.stderr()}")
            self.seen.append(line.rstrip())
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            if obj.get("event") == "browser":
                self.chromium_pid = obj.get("pid")
            if want in obj:
                return obj

    def go(self):
        self.proc.stdin.write("continue\n")
        self.proc.stdin.flush()

    def stderr(self):
        try:
            return open(self.stderr_path).read()[-3000:]
        except OSError:
            return ""

    def stop(self):
        """Ends the script and its Chromium (own process groups), by their ids."""
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGTERM)
                try:
                    self.proc.wait(5)
                except subprocess.TimeoutExpired:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                    self.proc.wait()
        # playwright starts Chromium detached, in a process group of its own
        if self.chromium_pid and alive(self.chromium_pid):
            try:
                os.killpg(self.chromium_pid, signal.SIGKILL)
            except OSError:
                pass


def alive(pid):
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    try:                      # a zombie is not running
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def test_browser_login_survives_node_kill(cluster, node_bin):
    cluster.allow_errors(NODE_DOWN)
    t0 = time.time()
    mcs = cluster.memcached_servers(2)
    nodes = [cluster.node("n1", "v4", "all", True, ["--public-mode"]),
             cluster.node("n2", "v4", "all", False, ["--public-mode"]),
             cluster.node("n3", "v4", "query", False, ["--public-mode"])]
    key = cluster.write_file("session.key", os.urandom(48))
    h = cluster.httpd().start(
        members=[n.url for n in nodes],
        directives=PROBE + f"KylinSessionStore {' '.join(m.addr for m in mcs)}\n"
                           f"KylinSessionKey {key}\n")
    h.wait_probed(nodes)
    by_name = {n.name: n for n in nodes}
    os.makedirs(RESULTS, exist_ok=True)
    for f in ("status.png", "ui.png", "ui-before-kill.png"):
        if os.path.exists(os.path.join(RESULTS, f)):
            os.remove(os.path.join(RESULTS, f))

    script = Script(node_bin, f"http://127.0.0.1:{h.port}", RESULTS,
                    os.path.join(cluster.tmpdir, "browser-stderr.log"))
    try:
        deadline = time.time() + SCRIPT_TIMEOUT
        ready = script.next_json(min(deadline, time.time() + STEP_TIMEOUT), "event")
        while ready.get("event") != "ready":
            if "result" in ready:
                raise AssertionError(f"browser script failed before the kill: {ready}")
            ready = script.next_json(min(deadline, time.time() + STEP_TIMEOUT), "event")
        login_node = ready["login_node"]
        print(f"\nbrowser: login served by {login_node}; after reload the page came "
              f"from {ready['page_node_after_reload']}, the API answered "
              f"{ready['load_after_reload']}")
        assert login_node in by_name, ready
        assert ready["load_after_reload"]["status"] == 200, ready

        by_name[login_node].kill()
        script.go()

        result = script.next_json(deadline, "result")
        print("browser result: " + json.dumps(result))
        assert script.proc.wait(10) == (0 if result["result"] == "pass" else 1)
    finally:
        script.stop()
    elapsed = time.time() - t0
    print(f"browser test took {elapsed:.1f} s")

    assert result["result"] == "pass", json.dumps(result, indent=1)
    assert result["logins"] == 1, result
    for key in ("load_after_kill", "load_after_kill_reload"):
        assert result[key]["status"] == 200 and result[key]["node"] != login_node, result
        assert result[key]["node"] in by_name, result
    assert result["page_node_after_kill"] != login_node, result
    for f in ("status.png", "ui.png"):
        path = os.path.join(RESULTS, f)
        with open(path, "rb") as fh:
            assert fh.read(8) == b"\x89PNG\r\n\x1a\n", path
    # the killed node is reported down by the balancer (probe 300 ms)
    h.wait_until(lambda: h.members()[by_name[login_node].url]["health"] == "down",
                 5, what="killed node reported down")
    # nothing of the browser is left running
    assert script.proc.poll() is not None
    if script.chromium_pid:
        assert not alive(script.chromium_pid), f"Chromium {script.chromium_pid} still runs"
