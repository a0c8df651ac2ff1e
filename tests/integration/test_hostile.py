"""Hostile input (issue 6): a few thousand malformed requests must neither
crash httpd, nor make us answer 500, nor inject headers into what a node
receives, nor create a session without a real Kylin 200."""
import os
import random
import socket

from harness import basic

COOKIE = "KYLIN_LB_SESSION"


def raw(port, data, timeout=5.0):
    """Sends raw bytes, returns the status code of the answer (0 if none)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        buf = b""
        try:
            while b"\r\n" not in buf:
                chunk = s.recv(4096)
                if not chunk:
                    break
                buf += chunk
        except socket.timeout:
            return 0
    line = buf.split(b"\r\n", 1)[0].split()
    return int(line[1]) if len(line) > 1 and line[1].isdigit() else 0


def cookie_values(rng, sid):
    junk = [sid, sid[:-1] + "x", sid * 2, "A" * 5000, "%00%0d%0a", "\xff\xfe",
            "=", ";;;", '"' + sid + '"', sid + ",", "", "\t" + sid, "../../etc"]
    junk += ["".join(chr(rng.randrange(33, 127)) for _ in range(rng.randrange(1, 80)))
             for _ in range(20)]
    return junk


def hostile_requests(rng, sid):
    paths = ["/kylin/api/projects", "/kylin/api/query", "/kylin/api/user/authentication",
             "/kylin/api/cache/all", "/kylin/api/../api/cache/x", "/kylin/api/%2e%2e/x",
             "/kylin/api/cubes/c/rebuild", "/kylin/j_spring_security_logout",
             "/kylin/api/" + "a" * 3000, "/kylin/\xc3\x28", "/kylin/api/query?x=%ff"]
    methods = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "FOO"]
    auths = [None, basic("ADMIN", "KYLIN"), basic("ADMIN", "wrong"), "Basic !!!",
             "Bearer x", "Basic " + "A" * 6000, "basic QURNSU46S1lMSU4="]
    for cv in cookie_values(rng, sid):
        for _ in range(80):
            m, p, a = rng.choice(methods), rng.choice(paths), rng.choice(auths)
            headers = ["Host: 127.0.0.1", f"Cookie: {COOKIE}={cv}"]
            if rng.random() < 0.3:
                headers.append(f"Cookie: {COOKIE}={rng.choice([sid, 'zz'])}")
            if rng.random() < 0.5:
                headers.append("routed: true")
            if a:
                headers.append(f"Authorization: {a}")
            if rng.random() < 0.2:
                headers.append("X-Junk: " + "\u00e9" * rng.randrange(1, 100))
            body = rng.choice([b"", b"{", b'{"sql":"select 1"}', os.urandom(64)])
            headers.append(f"Content-Length: {len(body)}")
            yield (f"{m} {p} HTTP/1.1\r\n" + "\r\n".join(headers)
                   + "\r\nConnection: close\r\n\r\n").encode("utf-8", "surrogateescape") + body


def test_a_few_thousand_malformed_requests(cluster):
    mcs = cluster.memcached_servers(2)
    nodes = [cluster.node(f"n{i}", "v4", "all", i == 1, ["--public-mode"]) for i in (1, 2)]
    key = cluster.write_file("k", os.urandom(48))
    h = cluster.httpd().start(members=[n.url for n in nodes], directives=(
        "KylinProbeInterval 500ms\nLimitRequestFieldSize 8190\n"
        f"KylinSessionStore {mcs[0].addr} {mcs[1].addr}\nKylinSessionKey {key}\n"))
    h.wait_probed(nodes)
    rng = random.Random(20261128)
    sid = "A" * 43                     # well-formed, never issued
    statuses = {}
    count = 0
    for data in hostile_requests(rng, sid):
        st = raw(h.port, data)
        statuses[st] = statuses.get(st, 0) + 1
        count += 1
    print(f"{count} hostile requests: {sorted(statuses.items())}")
    assert count >= 2000
    assert statuses.get(500, 0) == 0, statuses
    assert h.proc.poll() is None
    # nothing reached a node carrying our cookie, a routed header or CR/LF
    for n in nodes:
        for e in n.log():
            assert not e["routed"], e
            assert COOKIE not in e["cookies"], e
            assert "\r" not in e["path"] and "\n" not in e["path"]
    # no login succeeded without valid credentials, so memcached holds only
    # sessions of real 200 logins (valid Basic logins are in the mix)
    logins_ok = sum(1 for n in nodes for e in n.log()
                    if e["path"] == "/kylin/api/user/authentication"
                    and e["status"] == 200 and e["auth"] == "basic")
    stored = sum(len(m.dump()) for m in mcs) // 2
    assert stored <= logins_ok, (stored, logins_ok)
