"""Fixtures for the kylin_sim tests: start nodes on free loopback ports.

`sim.start(name, profile, mode=..., **options)` starts a node (see
sim_launcher.start_node), waits until /_sim/state answers, and fails the test
with the node's stderr if it does not start. Every node is stopped by pid at
teardown (SIGTERM, then SIGKILL).
"""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from sim_launcher import SimStartError, start_node  # noqa: E402


class SimCluster:
    def __init__(self, tmp_path):
        self.tmp_path = tmp_path
        self.nodes = []

    def shared_dir(self, label: str = "cluster") -> str:
        path = self.tmp_path / label
        path.mkdir(exist_ok=True)
        return str(path)

    def start(self, name, profile, mode="all", **options):
        try:
            node = start_node(name, profile, mode, **options)
        except SimStartError as exc:
            pytest.fail(f"kylin_sim node {name} did not start: {exc}", pytrace=False)
        self.nodes.append(node)
        return node

    def stop_all(self):
        for node in self.nodes:
            node.cleanup()


@pytest.fixture
def sim(tmp_path):
    cluster = SimCluster(tmp_path)
    yield cluster
    cluster.stop_all()
