"""The admin audit trail: every change made through the admin API, who made it, and the state
before and after. Entries are written in the transaction of the change they describe, so there
is never a change without its entry (nor an entry for a change that was refused)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from xroad.central.admin_auth import Principal
from xroad.central.models import AdminAuditEntry

MAX_PAGE: Final = 1000


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    role: str
    action: str
    target: str
    before: Any  # parsed JSON, None if nothing existed
    after: Any


def _json(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def record(s: Session, actor: Principal, at: datetime, action: str, target: str, *,
           before: Any = None, after: Any = None) -> None:
    """Add an entry to `s` (committed with the change, or not at all)."""
    s.add(AdminAuditEntry(at=at.astimezone(UTC).replace(tzinfo=None), actor=actor.label,
                          role=str(actor.role), action=action, target=target,
                          before=_json(before), after=_json(after)))


@dataclass(frozen=True)
class AdminAuditTrail:
    engine: Engine

    def list(self, *, limit: int = 100, offset: int = 0, action: str | None = None,
             target: str | None = None) -> tuple[int, list[AuditEntry]]:
        """The total number of matching entries and one page of them, newest first."""
        limit = max(1, min(limit, MAX_PAGE))
        query = select(AdminAuditEntry)
        count = select(func.count()).select_from(AdminAuditEntry)
        if action is not None:
            query = query.where(AdminAuditEntry.action == action)
            count = count.where(AdminAuditEntry.action == action)
        if target is not None:
            query = query.where(AdminAuditEntry.target == target)
            count = count.where(AdminAuditEntry.target == target)
        with Session(self.engine) as s:
            total = int(s.scalar(count) or 0)
            rows = s.scalars(query.order_by(AdminAuditEntry.id.desc())
                             .limit(limit).offset(max(0, offset))).all()
            return total, [AuditEntry(
                r.id, r.at.replace(tzinfo=UTC), r.actor, r.role, r.action, r.target,
                None if r.before is None else json.loads(r.before),
                None if r.after is None else json.loads(r.after)) for r in rows]
