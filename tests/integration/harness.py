"""Real-cluster test harness: real memcached, Kylin node simulators and a real
apache2 loading mod_kylin_balancer from the build tree, all on free loopback
ports in a temporary directory.  Everything started is stopped by pid.

Tests read like HAProxy's reg-tests: nodes have names (n1, n2, ...), the
config is a template filled with their addresses, and assertions say which
node answered (the simulator stamps X-Kylin-Node on every answer).
"""
import base64
import collections
import fcntl
import http.client
import ssl
import json
import os
import re
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.parse
import shutil

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MODULE = os.environ.get("KYL_MODULE", os.path.join(ROOT, "mod_kylin_balancer.so"))
SIM = os.path.join(ROOT, "tests", "kylin_sim", "kylin_sim.py")
APACHE = os.environ.get("KYL_APACHE", "/usr/sbin/apache2")
MODDIR = "/usr/lib/apache2/modules"
MEMCACHED = "/usr/bin/memcached"
PYTHON = "/usr/bin/python3"

# Sanitizer and valgrind runs (docs/testing.md): KYL_ASAN_RUNTIME is the
# libasan to preload into apache2 (the module is built with ASan), and
# KYL_CHECK_DIR collects their reports; KYL_APACHE_PREFIX (e.g. valgrind ...)
# runs apache2 -X under a tool.
ASAN_RUNTIME = os.environ.get("KYL_ASAN_RUNTIME")
CHECK_DIR = os.environ.get("KYL_CHECK_DIR")
APACHE_PREFIX = os.environ.get("KYL_APACHE_PREFIX", "").split()
# Under valgrind a probe takes many times longer: KYL_TIME_SCALE stretches
# the probe timings of the tests that set tight ones (and their waits).
TIME_SCALE = float(os.environ.get("KYL_TIME_SCALE", "1"))


def scaled(seconds):
    """seconds stretched by KYL_TIME_SCALE."""
    return seconds * TIME_SCALE


def ms(seconds):
    """A duration for a directive, stretched by KYL_TIME_SCALE."""
    return f"{round(scaled(seconds) * 1000)}ms"

BAD_LOG = re.compile(r"\[(?:[a-z_]+:)?(error|crit|alert|emerg)\]|Segmentation fault"
                     r"|exit signal|AddressSanitizer|runtime error")


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=10.0, proc=None):
    end = time.time() + timeout
    while time.time() < end:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def basic(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


class Answer:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def node(self):
        return self.headers.get("x-kylin-node")

    def json(self):
        return json.loads(self.body)

    def header_all(self, name):
        return [v for k, v in self.raw_headers if k.lower() == name.lower()]

    def __repr__(self):
        return f"<Answer {self.status} node={self.node} body={self.body[:120]!r}>"


def request(port, method, path, headers=None, body=None, timeout=10.0, tls=False):
    """One HTTP request on a fresh connection (https with tls, the
    certificate not checked); returns an Answer."""
    if tls:
        conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=timeout,
                                           context=ssl._create_unverified_context())
    else:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        data = body
        hdrs = dict(headers or {})
        if isinstance(body, (dict, list)):
            data = json.dumps(body).encode()
            hdrs.setdefault("Content-Type", "application/json")
        conn.request(method, path, body=data, headers=hdrs)
        resp = conn.getresponse()
        raw = resp.read()
        ans = Answer(resp.status, {k.lower(): v for k, v in resp.getheaders()},
                     raw.decode("utf-8", "replace"))
        ans.raw_headers = resp.getheaders()
        return ans
    finally:
        conn.close()


def served_by(h, method, path, n, body=None, headers=None, gap=0.0):
    """Sends the same request n times, gap seconds apart; every answer must
    be 200.  Returns a Counter of the nodes that answered."""
    seen = collections.Counter()
    for _ in range(n):
        ans = h.req(method, path, headers=dict(headers or {}), body=body)
        assert ans.status == 200, ans
        seen[ans.node] += 1
        time.sleep(gap)
    return seen


class Memcached:
    def __init__(self, tmpdir, name):
        self.name = name
        self.port = free_port()
        self.proc = None
        self.log = os.path.join(tmpdir, f"memcached-{name}.log")

    @property
    def addr(self):
        return f"127.0.0.1:{self.port}"

    def start(self):
        self.proc = subprocess.Popen(
            [MEMCACHED, "-U", "0", "-l", "127.0.0.1", "-p", str(self.port),
             "-m", "16", "-t", "2", "-u", "nobody"],
            stdout=open(self.log, "ab"), stderr=subprocess.STDOUT)
        if not wait_port(self.port, 5, self.proc):
            raise RuntimeError(f"memcached {self.name} did not start: "
                               + open(self.log).read())
        return self

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def freeze(self):
        os.kill(self.proc.pid, signal.SIGSTOP)

    def thaw(self):
        os.kill(self.proc.pid, signal.SIGCONT)

    def stats(self):
        """memcached's general counters (cmd_get, cmd_set, ...)."""
        out = {}
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
            f = s.makefile("rwb")
            f.write(b"stats\r\n")
            f.flush()
            for line in f:
                if line.startswith(b"END"):
                    break
                parts = line.decode().split()
                if len(parts) == 3 and parts[2].isdigit():
                    out[parts[1]] = int(parts[2])
        return out

    def dump(self):
        """Every key and value this server holds (via lru_crawler)."""
        out = {}
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
            f = s.makefile("rwb")
            f.write(b"lru_crawler metadump all\r\n")
            f.flush()
            keys = []
            for line in f:
                if line.startswith(b"END"):
                    break
                m = re.search(rb"key=(\S+)", line)
                if m:
                    keys.append(urllib.parse.unquote(m.group(1).decode()))
            for k in keys:
                f.write(f"get {k}\r\n".encode())
                f.flush()
                header = f.readline()
                if header.startswith(b"VALUE"):
                    n = int(header.split()[3])
                    out[k] = f.read(n + 2)[:-2]
                    f.readline()
        return out


class SimNode:
    """One Kylin node simulator process (tests/kylin_sim/kylin_sim.py)."""

    def __init__(self, tmpdir, name, profile="v4", mode="all", leader=False,
                 extra=None, shared_dir=None, tls=None):
        self.name = name
        self.tls = tls            # (certificate file, key file): https
        self.profile = profile
        self.mode = mode
        self.leader = leader
        self.extra = list(extra or [])
        self.shared_dir = shared_dir
        self.port = free_port()
        self.proc = None
        self.errlog = os.path.join(tmpdir, f"sim-{name}.log")

    @property
    def url(self):
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def _req(self, method, path, body=None, timeout=10.0):
        return request(self.port, method, path, body=body, timeout=timeout,
                       tls=bool(self.tls))

    def start(self):
        args = [PYTHON, SIM, "--port", str(self.port), "--name", self.name,
                "--profile", self.profile, "--mode", self.mode]
        if self.leader:
            args.append("--leader")
        if self.shared_dir:
            args += ["--shared-dir", self.shared_dir]
        if self.tls:
            args += ["--tls-cert", self.tls[0], "--tls-key", self.tls[1]]
        args += self.extra
        self.proc = subprocess.Popen(args, stdout=open(self.errlog, "ab"),
                                     stderr=subprocess.STDOUT)
        end = time.time() + 10
        while time.time() < end:
            if self.proc.poll() is not None:
                break
            try:
                if self._req("GET", "/_sim/state", timeout=1).status == 200:
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"simulator {self.name} did not start: "
                           + open(self.errlog).read())

    def control(self, **settings):
        ans = self._req("POST", "/_sim/control", body=settings)
        assert ans.status == 200, ans
        return ans.json()

    def state(self):
        return self._req("GET", "/_sim/state").json()

    def log(self, since=0):
        return self._req("GET", f"/_sim/log?since={since}").json()["entries"]

    def clear_log(self):
        self._req("POST", "/_sim/log/clear")

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.kill()

    def freeze(self):
        os.kill(self.proc.pid, signal.SIGSTOP)

    def thaw(self):
        os.kill(self.proc.pid, signal.SIGCONT)

    def restart(self):
        self.kill()
        self.start()
        return self


BASE_MODULES = ["authz_core", "slotmem_shm",
                "proxy", "proxy_http", "proxy_balancer", "lbmethod_byrequests"]


class Httpd:
    """A real apache2 with the module, configured from a template."""

    def __init__(self, tmpdir, name="httpd", mpm="event"):
        self.name = name
        # httpd's children run as nobody: their runtime dir (watchdog mutex,
        # slotmem files) must be reachable, which pytest's 0700 tmp is not.
        self.root = tempfile.mkdtemp(prefix=f"kyl-{name}-")
        os.chmod(self.root, 0o755)
        os.makedirs(os.path.join(self.root, "run"), exist_ok=True)
        os.chmod(os.path.join(self.root, "run"), 0o777)
        self.port = free_port()
        self.mpm = mpm
        self.conf = os.path.join(self.root, "httpd.conf")
        self.error_log = os.path.join(self.root, "error.log")
        self.access_log = os.path.join(self.root, "access.log")
        self.proc = None
        self.log_offset = 0
        self.modules = list(BASE_MODULES)

    def config_text(self, members=(), body="", lbmethod="kylin", directives="",
                    modules=None, load_kylin=True):
        mods = self.modules if modules is None else modules
        lines = [
            f'ServerRoot "{self.root}"',
            f"Listen 127.0.0.1:{self.port}",
            "ServerName 127.0.0.1",
            f'PidFile "{self.root}/run/httpd.pid"',
            f'DefaultRuntimeDir "{self.root}/run"',
            f'ErrorLog "{self.error_log}"',
            "LogLevel warn kylin_balancer:info",
            f"LoadModule mpm_{self.mpm}_module {MODDIR}/mod_mpm_{self.mpm}.so",
        ]
        lines += [f"LoadModule {m}_module {MODDIR}/mod_{m}.so" for m in mods]
        if load_kylin:
            lines.append(f"LoadModule kylin_balancer_module {self.module_copy()}")
        if os.geteuid() == 0:
            lines += ["User nobody", "Group nogroup"]
        lines += [
            'LogFormat "%h \\"%r\\" %>s %{BALANCER_WORKER_NAME}e %D" kyl',
            f'CustomLog "{self.access_log}" kyl',
            "Timeout 30",
            "KeepAliveTimeout 2",
        ]
        if os.environ.get("KYL_CORE_DIR"):   # debugging crashes: keep cores
            lines.append(f'CoreDumpDirectory "{os.environ["KYL_CORE_DIR"]}"')
        if members:
            lines.append('<Proxy "balancer://kylin">')
            # a member is a URL, or (URL, parameters) such as "loadfactor=3"
            lines += [f'    BalancerMember "{m}"' if isinstance(m, str)
                      else f'    BalancerMember "{m[0]}" {m[1]}' for m in members]
            lines.append(f"    ProxySet lbmethod={lbmethod}")
            lines.append("</Proxy>")
            lines += ['ProxyPass "/kylin-balancer" "!"',
                      'ProxyPass "/kylin" "balancer://kylin/kylin"',
                      'ProxyPassReverse "/kylin" "balancer://kylin/kylin"',
                      '<Location "/kylin-balancer">',
                      "    SetHandler kylin-balancer", "</Location>"]
        lines.append(directives)
        lines.append(body)
        return "\n".join(lines) + "\n"

    def module_copy(self):
        """This server's own copy of the module, taken once.  A rebuild
        rewrites mod_kylin_balancer.so in place, and a running httpd that
        maps the file it rewrites crashes (every child, SIGSEGV); the copy
        is taken under the build lock when there is one."""
        path = os.path.join(self.root, "mod_kylin_balancer.so")
        if not os.path.exists(path):
            lock = os.environ.get("KYL_BUILD_LOCK", "/tmp/kyl-build.lock")
            with open(lock if os.path.exists(lock) else MODULE, "rb") as f:
                fcntl.flock(f, fcntl.LOCK_SH)
                shutil.copy(MODULE, path + ".tmp")
                os.rename(path + ".tmp", path)
        return path

    def write_config(self, **kw):
        with open(self.conf, "w") as f:
            f.write(self.config_text(**kw))

    def configtest(self, **kw):
        self.write_config(**kw)
        r = subprocess.run([APACHE, "-t", "-f", self.conf], capture_output=True,
                           text=True, timeout=30)
        return r.returncode, r.stdout + r.stderr

    def start(self, **kw):
        if kw:
            self.write_config(**kw)
        env = dict(os.environ)
        args = [APACHE, "-f", self.conf, "-DFOREGROUND"]
        if ASAN_RUNTIME:
            env["LD_PRELOAD"] = ASAN_RUNTIME
            env["ASAN_OPTIONS"] = (f"detect_leaks=0:log_path={CHECK_DIR}/asan"
                                   ":handle_segv=1")
            env["UBSAN_OPTIONS"] = f"print_stacktrace=1:log_path={CHECK_DIR}/ubsan"
        if APACHE_PREFIX:
            args = APACHE_PREFIX + [APACHE, "-X", "-f", self.conf]
        # Its own process group: prefork signals the whole group on stop.
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT,
                                     start_new_session=True, env=env)
        if not wait_port(self.port, 60 if APACHE_PREFIX else 15, self.proc):
            out = self.proc.stdout.read().decode() if self.proc.poll() is not None else ""
            self.stop()
            raise RuntimeError(f"apache2 did not start:\n{out}\n{self.read_log()}")
        return self

    def read_log(self):
        try:
            with open(self.error_log) as f:
                return f.read()
        except OSError:
            return ""

    def new_log(self):
        """Error log lines written since the last call."""
        text = self.read_log()
        new = text[self.log_offset:]
        self.log_offset = len(text)
        return new

    def bad_log_lines(self, allowed=()):
        bad = []
        for line in self.read_log().splitlines():
            if BAD_LOG.search(line) and not any(re.search(a, line) for a in allowed):
                bad.append(line)
        return bad

    def children(self):
        """pids of the parent's children (the MPM's worker processes)."""
        r = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.proc.pid)],
                           capture_output=True, text=True)
        return [int(p) for p in r.stdout.split()]

    def graceful(self):
        os.kill(self.proc.pid, signal.SIGUSR1)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            # graceful-stop first: httpd's own SIGTERM path in the event MPM
            # (close_worker_sockets() reading a socket that a worker thread
            # is freeing) can crash a child now and then, a false
            # "Segmentation fault" in the log that says nothing about us
            if not APACHE_PREFIX:
                self.proc.send_signal(signal.SIGWINCH)
                try:
                    self.proc.wait(5)
                except subprocess.TimeoutExpired:
                    pass
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        # children of a killed parent: by pid file is gone, sweep by config
        subprocess.run(["pkill", "-KILL", "-f", self.conf], capture_output=True)

    def cleanup(self, keep_dir=None):
        if keep_dir:
            for f in (self.error_log, self.access_log, self.conf):
                if os.path.exists(f):
                    shutil.copy(f, os.path.join(keep_dir, f"{self.name}-{os.path.basename(f)}"))
        shutil.rmtree(self.root, ignore_errors=True)

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        subprocess.run(["pkill", "-KILL", "-f", self.conf], capture_output=True)

    def get(self, path, headers=None, timeout=10.0):
        return request(self.port, "GET", path, headers=headers, timeout=timeout)

    def req(self, method, path, headers=None, body=None, timeout=10.0):
        return request(self.port, method, path, headers=headers, body=body,
                       timeout=timeout)

    def status(self):
        ans = self.get("/kylin-balancer?format=json")
        assert ans.status == 200, ans
        return ans.json()

    def members(self, balancer="balancer://kylin"):
        for b in self.status()["balancers"]:
            if b["name"] == balancer:
                return {m["name"]: m for m in b["members"]}
        return {}

    def wait_until(self, predicate, timeout=10.0, interval=0.1, what="condition"):
        end = time.time() + timeout
        last = None
        while time.time() < end:
            try:
                last = predicate()
                if last:
                    return last
            except (OSError, AssertionError, KeyError, ValueError) as e:
                last = e
            time.sleep(interval)
        raise AssertionError(f"timed out waiting for {what}: last={last!r}")

    def wait_probed(self, nodes, timeout=10.0, healthy=True):
        """Waits until every node's member has a probe result."""
        urls = {n.url for n in nodes}

        def ok():
            ms = self.members()
            return all(u in ms and ms[u]["health"] == ("up" if healthy else "down")
                       for u in urls)
        try:
            return self.wait_until(ok, timeout, what=f"probes of {sorted(urls)}")
        except AssertionError as e:
            raise AssertionError(f"{e}\nstatus: {self.members()}\n"
                                 f"error log:\n{self.read_log()[-3000:]}")


class Stream:
    """Background clients for at most `limit` seconds: one thread sending GETs
    (reads, any member) and one sending queries (query members), back to back,
    each with `headers` (credentials or a session cookie).  Every request is
    recorded as (kind, start, end, status, node, error)."""

    KINDS = {"get": ("GET", "/kylin/api/projects", None),
             "query": ("POST", "/kylin/api/query",
                       {"sql": "select 1", "project": "learn_kylin"})}
    Result = collections.namedtuple("Result", "kind start end status node error")

    def __init__(self, h, headers, kinds=("get", "query"), pause=0.01, limit=40.0):
        self.h = h
        self.headers = headers
        self.kinds = kinds
        self.pause = pause
        self.limit = limit
        self.results = []
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.threads = [threading.Thread(target=self.run, args=(k,), daemon=True)
                        for k in kinds]

    def run(self, kind):
        method, path, body = self.KINDS[kind]
        end = time.time() + self.limit
        while not self.done.is_set() and time.time() < end:
            t0 = time.time()
            try:
                ans = self.h.req(method, path, headers=dict(self.headers), body=body,
                                 timeout=10)
                res = self.Result(kind, t0, time.time(), ans.status, ans.node, None)
            except (OSError, http.client.HTTPException) as e:
                # e.g. a node frozen between its headers and its body: the
                # answer is cut, and that request counts as failed
                res = self.Result(kind, t0, time.time(), None, None, repr(e))
            with self.lock:
                self.results.append(res)
            time.sleep(self.pause)

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.done.set()
        for t in self.threads:
            t.join(15)

    def between(self, t_from, t_to=float("inf")):
        return [r for r in self.results if t_from <= r.start < t_to]

    @staticmethod
    def failed(results):
        return [r for r in results if r.status != 200]

    def report(self, label, phases):
        """phases: [(name, t_from, t_to)] -> {name: {kind: (failed, total)}}"""
        out = {}
        for name, t_from, t_to in phases:
            rs = self.between(t_from, t_to)
            out[name] = {k: (len(self.failed([r for r in rs if r.kind == k])),
                             len([r for r in rs if r.kind == k])) for k in self.kinds}
        print(f"\n[{label}] failed/total per phase: {out}")
        return out
