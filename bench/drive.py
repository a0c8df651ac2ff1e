#!/usr/bin/python3
"""Fixed request sequence for the callgrind runs: drive.py PORT N [COOKIE]

N requests over one keep-alive connection (reconnecting if the server
closes it), alternating GET /kylin/api/projects and POST /kylin/api/query,
so every scenario sees exactly the same sequence.  Prints
"drive: N requests, M not 200, S s" and exits 1 when any answer was not 200."""
import http.client
import sys
import time

QUERY = (b'{"sql":"select count(*) from kylin_sales","project":"learn_kylin",'
         b'"offset":0,"limit":50000,"acceptPartial":false}')


def main(argv):
    port, n = int(argv[1]), int(argv[2])
    cookie = argv[3] if len(argv) > 3 else ""
    base = {"Accept": "application/json"}
    if cookie:
        base["Cookie"] = cookie
    conn = None
    bad = 0
    start = time.time()
    for i in range(n):
        for attempt in (0, 1):
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            try:
                if i % 2 == 0:
                    conn.request("GET", "/kylin/api/projects", headers=base)
                else:
                    conn.request("POST", "/kylin/api/query", body=QUERY,
                                 headers=dict(base, **{"Content-Type": "application/json"}))
                resp = conn.getresponse()
                resp.read()
                if resp.status != 200:
                    bad += 1
                if resp.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = None
                break
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = None
                if attempt:
                    raise
    if conn is not None:
        conn.close()
    print(f"drive: {n} requests, {bad} not 200, {time.time() - start:.1f} s")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
