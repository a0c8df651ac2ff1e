"""`make -f Makefile.apxs install` on a Debian layout, then `a2enmod
kylin_balancer`, in a scratch copy of /etc/apache2: the module, its .load and
.conf land where Debian expects them and the result passes configtest."""
import os
import shutil
import subprocess

import pytest

import harness

pytestmark = pytest.mark.skipif(not os.path.isdir("/etc/apache2/mods-available"),
                                reason="not a Debian-style apache2")


def run(cmd, env, **kw):
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120, **kw)
    return r.returncode, r.stdout + r.stderr


def test_install_then_a2enmod(tmp_path):
    confdir = tmp_path / "apache2"
    shutil.copytree("/etc/apache2", confdir, symlinks=True)
    libexec = tmp_path / "modules"
    env = dict(os.environ, APACHE_CONFDIR=str(confdir), LIBEXECDIR=str(libexec),
               APACHE_RUN_DIR=str(tmp_path / "run"), APACHE_LOCK_DIR=str(tmp_path / "lock"),
               APACHE_LOG_DIR=str(tmp_path / "log"), APACHE_PID_FILE=str(tmp_path / "pid"))
    for d in ("run", "lock", "log"):
        (tmp_path / d).mkdir()
    rc, out = run(["make", "-f", "Makefile.apxs", "install"], env, cwd=harness.ROOT)
    assert rc == 0, out
    assert "a2enmod kylin_balancer" in out
    assert (libexec / "mod_kylin_balancer.so").exists()
    load = (confdir / "mods-available" / "kylin_balancer.load").read_text()
    assert str(libexec / "mod_kylin_balancer.so") in load
    assert (confdir / "mods-available" / "kylin_balancer.conf").exists()

    rc, out = run(["a2enmod", "kylin_balancer"], env)
    assert rc == 0, out
    enabled = os.listdir(confdir / "mods-enabled")
    for m in ("kylin_balancer.load", "kylin_balancer.conf", "proxy.load",
              "proxy_http.load", "proxy_balancer.load", "slotmem_shm.load"):
        assert m in enabled, (m, out)
    # the secret files the reference configuration may name live here
    (confdir / "kylin").mkdir(exist_ok=True)
    rc, out = run(["apache2ctl", "-t"], env)
    assert rc == 0 and "Syntax OK" in out, out
    rc, out = run(["apache2ctl", "-M"], env)
    assert "kylin_balancer_module" in out, out

    # a second install keeps the operator's edited configuration
    conf = confdir / "mods-available" / "kylin_balancer.conf"
    conf.write_text(conf.read_text() + "\n# edited by the operator\n")
    rc, out = run(["make", "-f", "Makefile.apxs", "install"], env, cwd=harness.ROOT)
    assert rc == 0 and "edited by the operator" in conf.read_text(), out
    assert (confdir / "mods-available" / "kylin_balancer.conf.dist").exists()
