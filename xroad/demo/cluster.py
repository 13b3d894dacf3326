"""A demo security server run as a cluster: several nodes sharing one PostgreSQL database.

`XROAD_DEMO_CLUSTERS='{"MN/GOV/GASR/ss1": {"nodes": 2, "database_url": "postgresql+psycopg://
postgres@127.0.0.1:5432/xroad_cluster"}}'` runs that server as nodes `node1`, `node2`, ... on
one data directory (node-local files under `nodes/<name>/`). The address registered in global
configuration stays the server's `server_url`: a TCP load balancer in front of the nodes must
listen there (the demo starts none; the cluster test brings a tiny one, production a real one,
see docs/deployment.md). Node 1 keeps the server's client and admin ports.
"""

from __future__ import annotations

import socket
from collections.abc import Mapping
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from xroad.demo.topology import DemoServer
from xroad.identifiers import SecurityServerId


class DemoCluster(BaseModel):
    """How one demo security server is clustered (a value of `XROAD_DEMO_CLUSTERS`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    nodes: int = Field(default=2, ge=1, le=8)
    database_url: str = Field(pattern=r"^postgresql(\+\w+)?://")


@dataclass(frozen=True, slots=True)
class DemoNode:
    name: str  # node1, node2, ...: XROAD_SS_NODE_NAME
    client_port: int
    server_port: int  # the node's own mutual-TLS listener, behind the load balancer
    admin_port: int


@dataclass(frozen=True, slots=True)
class ClusterPlan:
    database_url: str
    nodes: tuple[DemoNode, ...]


def plan_clusters(clusters: Mapping[str, DemoCluster], servers: tuple[DemoServer, ...],
                  taken: list[int]) -> dict[SecurityServerId, ClusterPlan]:
    """Nodes and ports for each clustered server; `ValueError` names an unknown server."""
    known = {str(s.id): s for s in servers}
    unknown = sorted(set(clusters) - set(known))
    if unknown:
        raise ValueError(f"XROAD_DEMO_CLUSTERS names no security server of the demo: "
                         f"{', '.join(unknown)}; there are: {', '.join(known)}")
    plans: dict[SecurityServerId, ClusterPlan] = {}
    for server_id, cluster in clusters.items():
        server = known[server_id]
        fresh = iter(_free_ports(3 * cluster.nodes, avoid=set(taken)))
        nodes = [DemoNode("node1", server.client_port, next(fresh), server.admin_port)]
        nodes += [DemoNode(f"node{n}", next(fresh), next(fresh), next(fresh))
                  for n in range(2, cluster.nodes + 1)]
        taken += [p for node in nodes for p in (node.client_port, node.server_port,
                                                node.admin_port)]
        plans[server.id] = ClusterPlan(cluster.database_url, tuple(nodes))
    return plans


def node_processes(name: str, env: Mapping[str, str], server: DemoServer,
                   plan: ClusterPlan | None) -> list[tuple[str, dict[str, str], int]]:
    """(process name, environment, client port) of each process running `server`: the server
    itself, or each of its nodes."""
    if plan is None:
        return [(name, dict(env), server.client_port)]
    return [(f"{name}-{node.name}", {
        **env, "XROAD_SS_NODE_NAME": node.name, "XROAD_DATABASE_URL": plan.database_url,
        "XROAD_SS_CLIENT_PORT": str(node.client_port),
        "XROAD_SS_SERVER_PORT": str(node.server_port),
        "XROAD_SS_ADMIN_PORT": str(node.admin_port)}, node.client_port) for node in plan.nodes]


def nodes_entry(plan: ClusterPlan | None) -> dict[str, object]:
    """The `nodes` list of a clustered server in instance.json (nothing for a single one)."""
    if plan is None:
        return {}
    return {"nodes": [{"name": n.name, "client_url": f"http://127.0.0.1:{n.client_port}",
                       "server_url": f"https://127.0.0.1:{n.server_port}",
                       "admin_url": f"http://127.0.0.1:{n.admin_port}"} for n in plan.nodes]}


def _free_ports(count: int, avoid: set[int]) -> list[int]:
    """Ports the OS reports free now, held open together so that they are distinct."""
    sockets: list[socket.socket] = []
    ports: list[int] = []
    try:
        while len(ports) < count:
            s = socket.socket()
            sockets.append(s)
            s.bind(("127.0.0.1", 0))
            if s.getsockname()[1] not in avoid:
                ports.append(s.getsockname()[1])
        return ports
    finally:
        for s in sockets:
            s.close()
