"""Start-up configuration: every directive of the contract is parsed and
validated, and a bad value stops `apache2 -t` (configtest) with a message
naming the directive, the value and what is allowed."""
import os

import pytest

MEMBERS = ["http://127.0.0.1:7071", "http://127.0.0.1:7072"]


def good_key(cluster):
    return cluster.write_file("session.key", os.urandom(48))


def test_minimal_config_is_accepted(cluster):
    rc, out = cluster.httpd().configtest(members=MEMBERS)
    assert rc == 0, out
    assert "Syntax OK" in out


def test_every_directive_with_good_values(cluster):
    creds = cluster.write_file("probe.creds", "ADMIN:KYLIN\n")
    key = good_key(cluster)
    prev = cluster.write_file("prev.key", os.urandom(32))
    rc, out = cluster.httpd().configtest(members=MEMBERS, directives=f"""
KylinProbeInterval 500ms
KylinProbeTimeout 2s
KylinProbeCredentials {creds}
KylinMemberMode http://127.0.0.1:7071 job
KylinMemberMode HTTP://127.0.0.1:7072/ query
KylinSessionStore 127.0.0.1:11211 127.0.0.1:11212
KylinSessionReplicas 1
KylinSessionKey {key} {prev}
KylinSessionCookie MY_SESSION
KylinSessionTimeout 10m 2h
KylinSessionCacheTTL 2s
KylinAllowInternal Off
""")
    assert rc == 0, out


BAD_VALUES = [
    ("KylinProbeInterval", "KylinProbeInterval 0", "'0'"),
    ("KylinProbeInterval", "KylinProbeInterval fast", "'fast'"),
    ("KylinProbeInterval", "KylinProbeInterval 5x", "'5x'"),
    ("KylinProbeInterval", "KylinProbeInterval -5s", "'-5s'"),
    ("KylinProbeTimeout", "KylinProbeTimeout 1.5s", "'1.5s'"),
    ("KylinProbeTimeout", "KylinProbeTimeout 0ms", "'0ms'"),
    ("KylinProbeCredentials", "KylinProbeCredentials /nonexistent/creds", "cannot read"),
    ("KylinProbeCredentials", "KylinProbeCredentials {nocolon}", "user:password"),
    ("KylinMemberMode", "KylinMemberMode http://127.0.0.1:7071 reader", "'reader'"),
    ("KylinMemberMode", "KylinMemberMode not-a-url job", "'not-a-url'"),
    ("KylinMemberMode", "KylinMemberMode http://127.0.0.1:9999 job",
     "matches no BalancerMember"),
    ("KylinSessionStore", "KylinSessionStore 127.0.0.1:notaport\nKylinSessionKey {key}",
     "'127.0.0.1:notaport'"),
    ("KylinSessionStore", "KylinSessionStore 127.0.0.1:99999\nKylinSessionKey {key}",
     "'127.0.0.1:99999'"),
    ("KylinSessionStore", "KylinSessionStore 127.0.0.1:11211", "KylinSessionKey is missing"),
    ("KylinSessionReplicas", "KylinSessionReplicas -1", "'-1'"),
    ("KylinSessionReplicas", "KylinSessionReplicas two", "'two'"),
    ("KylinSessionReplicas",
     "KylinSessionStore 127.0.0.1:11211 127.0.0.1:11212\nKylinSessionKey {key}\n"
     "KylinSessionReplicas 2", "needs at least 3"),
    ("KylinSessionKey", "KylinSessionKey {short}", "at least 32"),
    ("KylinSessionKey", "KylinSessionKey /nonexistent/key", "cannot read"),
    ("KylinSessionCookie", "KylinSessionCookie bad;name", "'bad;name'"),
    ("KylinSessionCookie", "KylinSessionCookie JSESSIONID", "'JSESSIONID'"),
    ("KylinSessionTimeout", "KylinSessionTimeout soon", "'soon'"),
    ("KylinSessionTimeout", "KylinSessionTimeout 2h 1h", "shorter than the idle"),
    ("KylinAllowInternal", "KylinAllowInternal maybe", "KylinAllowInternal"),
    ("KylinSessionCacheTTL", "KylinSessionCacheTTL 11s", "'11s'"),
    ("KylinSessionCacheTTL", "KylinSessionCacheTTL soon", "'soon'"),
    ("KylinProbeCAFile", "KylinProbeCAFile {nocolon}", "holds no PEM certificate"),
    ("KylinProbeCAFile", "KylinProbeCAFile /nonexistent/ca.pem", "cannot read"),
]


@pytest.mark.parametrize("directive,line,expect", BAD_VALUES,
                         ids=[f"{d}:{e}" for d, _, e in BAD_VALUES])
def test_bad_value_fails_configtest(cluster, directive, line, expect):
    files = {
        "nocolon": cluster.write_file("nocolon.creds", "justauser\n"),
        "short": cluster.write_file("short.key", b"x" * 31),
        "key": good_key(cluster),
    }
    rc, out = cluster.httpd().configtest(members=MEMBERS, directives=line.format(**files))
    assert rc != 0, out
    assert directive in out, out
    assert expect in out, out


def test_secrets_never_echoed(cluster):
    """A malformed credentials file is reported without its contents."""
    creds = cluster.write_file("secret.creds", "s3cr3t-passw0rd-no-colon\n")
    rc, out = cluster.httpd().configtest(members=MEMBERS,
                                         directives=f"KylinProbeCredentials {creds}")
    assert rc != 0
    assert "s3cr3t" not in out


# mod_watchdog is compiled into Debian's apache2, so it cannot be left out here.
@pytest.mark.parametrize("missing", ["proxy_balancer", "slotmem_shm",
                                     "proxy_http"])
def test_missing_prerequisite_module_is_named(cluster, missing):
    h = cluster.httpd()
    mods = [m for m in h.modules if m != missing]
    # Without mod_proxy_balancer there is no balancer:// to configure.
    members = MEMBERS if missing != "proxy_balancer" else ()
    rc, out = h.configtest(members=members, modules=mods)
    assert rc != 0, out
    assert f"mod_{missing}" in out, out


def test_missing_mod_proxy_is_named(cluster):
    h = cluster.httpd()
    mods = [m for m in h.modules if not m.startswith(("proxy", "lbmethod"))]
    rc, out = h.configtest(modules=mods)
    assert rc != 0, out
    assert "mod_proxy.c" in out, out


def test_lbmethod_kylin_is_registered(cluster):
    rc, out = cluster.httpd().configtest(members=MEMBERS, lbmethod="kylin")
    assert rc == 0, out
    rc, out = cluster.httpd().configtest(members=MEMBERS, lbmethod="kylin",
                                         load_kylin=False)
    assert rc != 0 and "kylin" in out
