#!/usr/bin/python3
"""Small helpers of scripts/bench.sh (python3 stdlib only).

  tool.py fill TEMPLATE OUT KEY=VALUE...   fill @KEY@ placeholders ("\\n" in a
                                           VALUE is a newline); unfilled = error
  tool.py ports-free PORT...               exit 1 naming the ports in use
  tool.py wait-probed PORT N TIMEOUT       until N members of the status page
                                           are probed and up
  tool.py login PORT COOKIE_NAME           POST user/authentication with Basic
                                           credentials; prints "NAME=value" of
                                           the balancer's cookie, or nothing
  tool.py get PORT PATH [COOKIE]           prints the status of one GET
  tool.py probe-count LOG T0 T1            nginx probe log lines in [T0, T1):
                                           prints "total path=count ..."
  tool.py cg-total FILE                    the Ir total of a callgrind dump
  tool.py mc-stats PORT...                 memcached get/set counters, summed
  tool.py cpu GROUP...                     CPU time (clock ticks) of each GROUP, a
                                           comma-separated list of pids taken
                                           with all their descendants
"""
import os
import base64
import collections
import http.client
import json
import re
import socket
import sys
import time

BASIC = "Basic " + base64.b64encode(b"ADMIN:KYLIN").decode()   # QURNSU46S1lMSU4=


def fill(template, out, *pairs):
    text = open(template).read()
    values = {}
    for arg in pairs:
        key, sep, value = arg.partition("=")
        if not sep:
            sys.exit(f"tool.py fill: bad argument {arg!r} (KEY=VALUE)")
        values[key] = value.replace("\\n", "\n")
    text = re.sub(r"@([A-Z0-9_]+)@",
                  lambda m: values.get(m.group(1), m.group(0)), text)
    left = sorted(set(re.findall(r"@([A-Z0-9_]+)@", text)))
    if left:
        sys.exit(f"tool.py fill: {template}: unfilled {', '.join(left)}")
    with open(out, "w") as f:
        f.write(text)


def ports_free(*ports):
    busy = []
    for p in ports:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", int(p)))
            except OSError:
                busy.append(p)
    if busy:
        sys.exit("ports in use: " + " ".join(busy)
                 + " (set BENCH_PORT_BASE to another free range)")


def request(port, method, path, headers=None, body=None, timeout=10):
    conn = http.client.HTTPConnection("127.0.0.1", int(port), timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.getheaders(), resp.read()
    finally:
        conn.close()


def wait_probed(port, n, timeout):
    end = time.time() + float(timeout)
    last = None
    while time.time() < end:
        try:
            status, _, body = request(port, "GET", "/kylin-balancer?format=json", timeout=5)
            members = [m for b in json.loads(body)["balancers"] for m in b["members"]]
            up = [m for m in members if m.get("health") == "up"]
            last = f"{len(up)}/{len(members)} up"
            if status == 200 and len(up) >= int(n):
                print(last)
                return
        except (OSError, ValueError, KeyError, http.client.HTTPException) as e:
            last = repr(e)
        time.sleep(0.2)
    sys.exit(f"members of port {port} not probed within {timeout} s: {last}")


def login(port, name):
    status, headers, _ = request(port, "POST", "/kylin/api/user/authentication",
                                 headers={"Authorization": BASIC,
                                          "Content-Length": "0"})
    for k, v in headers:
        if k.lower() == "set-cookie":
            m = re.match(r"\s*" + re.escape(name) + r"=([^;]+)", v)
            if m and status == 200:
                print(f"{name}={m.group(1)}")
                return
    print(f"login: HTTP {status}, no {name} cookie "
          f"(cookies: {[v.split('=')[0] for k, v in headers if k.lower() == 'set-cookie']})",
          file=sys.stderr)


def get(port, path, cookie=""):
    status, _, _ = request(port, "GET", path,
                           headers={"Cookie": cookie} if cookie else {})
    print(status)


def probe_count(log, t0, t1):
    t0, t1 = float(t0), float(t1)
    paths = collections.Counter()
    with open(log) as f:
        for line in f:
            m = re.match(r'(\d+\.\d+) \d+ "(\S+) (\S+)', line)
            if m and t0 <= float(m.group(1)) < t1:
                paths[m.group(3).rsplit("/", 1)[-1]] += 1
    print(sum(paths.values()), " ".join(f"{p}={c}" for p, c in sorted(paths.items())))


def cg_total(path):
    with open(path) as f:
        for line in f:
            if line.startswith(("summary:", "totals:")):
                print(line.split()[1])
                return
    sys.exit(f"no totals in {path}")


def mc_stats(*ports):
    keys = ("cmd_get", "cmd_set", "get_hits", "get_misses", "cmd_touch")
    total = dict.fromkeys(keys, 0)
    for p in ports:
        with socket.create_connection(("127.0.0.1", int(p)), timeout=5) as s:
            f = s.makefile("rwb")
            f.write(b"stats\r\n")
            f.flush()
            for line in f:
                if line.startswith(b"END"):
                    break
                parts = line.decode().split()
                if len(parts) == 3 and parts[1] in total:
                    total[parts[1]] += int(parts[2])
    print(" ".join(f"{k}={v}" for k, v in total.items()))


def _stat(pid):
    with open(f"/proc/{pid}/stat") as f:
        text = f.read()
    return text[text.rindex(")") + 2:].split()      # fields from "state" on


def cpu(*groups):
    parent = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                parent[int(d)] = int(_stat(d)[1])
            except (OSError, ValueError, IndexError):
                pass
    out = []
    for group in groups:
        roots = [int(p) for p in group.split(",") if p]
        todo, seen = list(roots), set()
        while todo:
            p = todo.pop()
            if p not in seen:
                seen.add(p)
                todo += [c for c, pp in parent.items() if pp == p]
        ticks = 0
        for p in seen:
            try:
                f = _stat(p)
            except OSError:
                continue
            ticks += int(f[11]) + int(f[12])                 # utime, stime
            if p in roots:
                ticks += int(f[13]) + int(f[14])             # reaped children
        out.append(str(ticks))
    print(" ".join(out))


COMMANDS = {"fill": fill, "ports-free": ports_free, "wait-probed": wait_probed,
            "login": login, "get": get, "probe-count": probe_count,
            "cg-total": cg_total, "mc-stats": mc_stats, "cpu": cpu}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(__doc__)
    COMMANDS[sys.argv[1]](*sys.argv[2:])
