"""Test-side views of a running demo: what its audit logs recorded."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from xroad.demo.process import RunningDemo, start_demo

__all__ = ["RunningDemo", "audit_records", "start_demo"]


def audit_records(demo: RunningDemo, server_id: str) -> list[dict[str, Any]]:
    with sqlite3.connect(demo.server_dir(server_id) / "audit.db") as conn:
        rows = conn.execute("SELECT idx, leaf FROM audit_log ORDER BY idx").fetchall()
    return [{"idx": idx, **json.loads(leaf)} for idx, leaf in rows]
