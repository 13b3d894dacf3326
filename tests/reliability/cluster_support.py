"""What the cluster test needs beyond the demo: a fresh PostgreSQL database, a loopback
round-robin TCP load balancer in front of a security server's nodes, and per-node metrics."""

from __future__ import annotations

import asyncio
import contextlib
import re
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import Future

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import SQLAlchemyError

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432"
_CHUNK = 64 * 1024


@contextlib.contextmanager
def fresh_database(prefix: str = "xroad_cluster") -> Iterator[str]:
    """A new, empty PostgreSQL database (dropped afterwards, connections and all); the test
    is skipped when the driver or the server is missing."""
    pytest.importorskip("psycopg", reason="psycopg (the dev extra) drives PostgreSQL")
    admin = create_engine(f"{POSTGRES}/postgres", isolation_level="AUTOCOMMIT")
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except SQLAlchemyError as e:
        admin.dispose()
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES}: {type(e).__name__}")
    try:
        yield f"{POSTGRES}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


class RoundRobinBalancer:
    """Each new connection goes to the next backend that accepts it; bytes are copied both
    ways untouched, so mutual TLS passes through. `pin` sends new connections to one backend
    only and `drop_connections` cuts the open ones (clients then reconnect)."""

    def __init__(self, port: int, backends: list[tuple[str, int]]) -> None:
        self.port, self.backends = port, backends
        self.connections: Counter[int] = Counter()  # accepted connections, by backend
        self._next, self._pinned = 0, None
        self._loop = asyncio.new_event_loop()
        self._open: set[asyncio.StreamWriter] = set()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None

    def start(self) -> None:
        self._thread.start()
        self._server = self._call(asyncio.start_server(self._accept, "127.0.0.1", self.port))

    def pin(self, backend: int | None) -> None:
        self._pinned = backend

    def drop_connections(self) -> None:
        async def drop() -> None:
            for writer in list(self._open):
                writer.transport.abort()
        self._call(drop())

    def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self.drop_connections()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _call(self, coroutine: object) -> object:
        future: Future[object] = asyncio.run_coroutine_threadsafe(coroutine, self._loop)  # type: ignore[arg-type]
        return future.result(10)

    def _order(self) -> list[int]:
        if self._pinned is not None:
            return [self._pinned]
        start, self._next = self._next, (self._next + 1) % len(self.backends)
        return [(start + i) % len(self.backends) for i in range(len(self.backends))]

    async def _accept(self, client_in: asyncio.StreamReader,
                      client_out: asyncio.StreamWriter) -> None:
        for index in self._order():  # a dead node refuses at once: try the next one
            try:
                backend_in, backend_out = await asyncio.wait_for(
                    asyncio.open_connection(*self.backends[index]), 2)
            except (OSError, TimeoutError):
                continue
            self.connections[index] += 1
            break
        else:
            client_out.transport.abort()
            return
        self._open.update((client_out, backend_out))
        await asyncio.gather(self._pipe(client_in, backend_out),
                             self._pipe(backend_in, client_out))
        self._open.difference_update((client_out, backend_out))

    @staticmethod
    async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        try:
            while chunk := await source.read(_CHUNK):
                sink.write(chunk)
                await sink.drain()
        except OSError:
            pass
        finally:  # one side ended or failed: end the other, as a node's crash would
            sink.transport.abort()


def provider_exchanges(admin_url: str, observer_key: str) -> float:
    """`xroad_exchanges_total` of the provider role on one node (its own /metrics)."""
    reply = httpx.get(admin_url + "/metrics", timeout=10,
                      headers={"Authorization": f"X-Road-ApiKey token={observer_key}"})
    assert reply.status_code == 200, reply.text
    return sum(float(m.group(1)) for m in re.finditer(
        r'^xroad_exchanges_total\{[^}]*role="provider"[^}]*\} (\S+)$', reply.text, re.M))
