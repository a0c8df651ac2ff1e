#!/usr/bin/python3
"""kylin_sim: one process = one simulated Apache Kylin node.

Backend of mod_kylin_balancer's integration tests and demo. Two profiles,
faithful to /work/shared/kylin-rest.md:

  v4  Kylin 3.x/4.x (version 4.0.3 by default, 3.1.3 also valid)
  v5  Kylin 5.x (version 5.0.0)

Usage:
  kylin_sim.py --port P [--host 127.0.0.1] --name n1 --profile v4|v5
               --mode all|job|query [--leader] [--scheduler curator|default]
               [--version X] [--public-mode] [--shared-dir DIR]
               [--metadata-url URL] [--session-timeout S] [--lock-seconds S]

--port 0 binds a free port; the ready line gives the real one:
  kylin_sim <name> listening on <host>:<port>
Control API: GET /_sim/state, POST /_sim/control, GET /_sim/log?since=N,
POST /_sim/log/clear (see README.md beside this file).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import ssl
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from sim_node import NodeState, make_server  # noqa: E402
from sim_store import NAME_RE  # noqa: E402

DEFAULT_VERSION = {"v4": "4.0.3", "v5": "5.0.0"}
DEFAULT_METADATA_URL = "jdbc:postgresql://localhost:5432/kylin"


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Simulated Apache Kylin node")
    p.add_argument("--port", type=int, required=True, help="0 = any free port")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--name", required=True)
    p.add_argument("--profile", choices=("v4", "v5"), required=True)
    p.add_argument("--mode", choices=("all", "job", "query"), default="all")
    p.add_argument("--leader", action="store_true",
                   help="v4: Curator job-engine leader; v5: preferred forwarding target")
    p.add_argument("--scheduler", choices=("curator", "default"), default="curator")
    p.add_argument("--version", default=None)
    p.add_argument("--public-mode", action="store_true",
                   help="kylin.server.mode is in kylin.web.properties.whitelist")
    p.add_argument("--shared-dir", default=None,
                   help="directory shared by the nodes of one cluster (v5 sessions, "
                        "lock-out counters, node registry, maintenance mode)")
    p.add_argument("--metadata-url", default=DEFAULT_METADATA_URL)
    p.add_argument("--session-timeout", type=float, default=None,
                   help="idle session timeout in seconds (v4 28800, v5 600)")
    p.add_argument("--lock-seconds", type=int, default=30,
                   help="v5: length of the first login lock-out")
    p.add_argument("--tls-cert", default=None,
                   help="PEM certificate (and --tls-key): serve https, as a "
                        "Kylin node behind Tomcat's TLS connector")
    p.add_argument("--tls-key", default=None)
    args = p.parse_args(argv)
    if not NAME_RE.match(args.name):
        p.error("--name: letters, digits, '.', '_' and '-' only")
    args.version = args.version or DEFAULT_VERSION[args.profile]
    return args


def make_app(node: NodeState):
    if node.profile == "v4":
        from sim_v4 import V4App

        return V4App(node, node.authn)
    from sim_v5 import V5App

    return V5App(node, node.authn)


def on_signal(signum, frame):
    raise SystemExit(0)


def main(argv=None) -> int:
    args = parse_args(argv)
    private_dir = None
    if args.profile == "v5" and not args.shared_dir:
        private_dir = args.shared_dir = tempfile.mkdtemp(prefix=f"kylin_sim_{args.name}_")
    node = NodeState(args)
    server = make_server(node, make_app(node))
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        # the handshake happens in the handler's thread, on its first read
        server.socket = ctx.wrap_socket(server.socket, server_side=True,
                                        do_handshake_on_connect=False)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        node.register()
        print(f"kylin_sim {node.name} listening on {node.address}", flush=True)
        server.serve_forever(poll_interval=0.2)
    finally:
        node.unregister()
        server.server_close()
        if private_dir:
            shutil.rmtree(private_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
