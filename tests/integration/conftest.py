"""pytest fixtures over harness.py: a temp dir per test, and factories that
start memcached servers, simulator nodes and httpd, stopping all of them
(by pid) at teardown and checking httpd's error log for unexpected errors."""
import os
import re
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def module_built():
    if not os.path.exists(harness.MODULE):
        pytest.exit(f"{harness.MODULE} is missing: run make -f Makefile.apxs first",
                    returncode=2)


class Cluster:
    def __init__(self, tmpdir):
        self.tmpdir = str(tmpdir)
        self.nodes = {}
        self.memcached = []
        self.httpds = []
        self.allowed_errors = []
        self.shared_dir = os.path.join(self.tmpdir, "kylin5-shared")
        os.makedirs(self.shared_dir, exist_ok=True)

    def node(self, name, profile="v4", mode="all", leader=False, extra=None, tls=None):
        n = harness.SimNode(self.tmpdir, name, profile, mode, leader, extra,
                            self.shared_dir if profile == "v5" else None, tls)
        self.nodes[name] = n
        return n.start()

    def memcached_servers(self, count=2):
        for i in range(count):
            self.memcached.append(
                harness.Memcached(self.tmpdir, f"m{len(self.memcached) + 1}").start())
        return self.memcached

    def httpd(self, name=None, mpm=None):
        # KYL_MPM runs the same suite under worker or prefork (MPM matrix)
        mpm = mpm or os.environ.get("KYL_MPM", "event")
        h = harness.Httpd(self.tmpdir, name or f"httpd{len(self.httpds) + 1}", mpm)
        self.httpds.append(h)
        return h

    def tls_pair(self, name):
        """A self-signed certificate for 127.0.0.1 and its key (PEM files)."""
        cert = os.path.join(self.tmpdir, f"{name}.crt")
        key = os.path.join(self.tmpdir, f"{name}.key")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
                        "-subj", f"/CN={name}", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", key, "-out", cert], check=True, capture_output=True)
        os.chmod(cert, 0o644)
        return cert, key

    def write_file(self, name, content, mode=0o600):
        path = os.path.join(self.tmpdir, name)
        with open(path, "wb" if isinstance(content, bytes) else "w") as f:
            f.write(content)
        os.chmod(path, mode)
        return path

    def allow_errors(self, *patterns):
        self.allowed_errors.extend(patterns)

    def teardown(self):
        for h in self.httpds:
            h.stop()
        for n in self.nodes.values():
            n.kill()
        for m in self.memcached:
            m.kill()


@pytest.fixture
def cluster(tmp_path):
    c = Cluster(tmp_path)
    yield c
    c.teardown()
    bad = {h.name: h.bad_log_lines(c.allowed_errors) for h in c.httpds}
    for h in c.httpds:
        h.cleanup(c.tmpdir)
    for name, lines in bad.items():
        assert not lines, f"unexpected lines in {name}'s error log:\n" + "\n".join(lines)
    reports = sanitizer_reports()
    assert not reports, "sanitizer/valgrind reports:\n" + "\n".join(reports)


VALGRIND_ERROR = re.compile(r"==\d+== (Invalid|Conditional jump|Use of uninitialised"
                            r"|Syscall param|Mismatched|Source and destination"
                            r"|.*definitely lost in [1-9])")


def sanitizer_reports():
    """ASan/UBSan log files and valgrind logs with errors (KYL_CHECK_DIR)."""
    out = []
    if not harness.CHECK_DIR or not os.path.isdir(harness.CHECK_DIR):
        return out
    for f in sorted(os.listdir(harness.CHECK_DIR)):
        path = os.path.join(harness.CHECK_DIR, f)
        text = open(path, errors="replace").read()
        if f.startswith(("asan", "ubsan")) or (
                f.startswith("valgrind") and VALGRIND_ERROR.search(text)):
            out.append(f"{f}:\n{text[-4000:]}")
    return out
