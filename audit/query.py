"""Searching the audit log: auditors' filters and the citizen's data-access view.

Results are decoded from the leaves (the authoritative bytes); the search columns only find
them. Pages are keyset-paginated by index (`after`), so a page never shifts while the log grows.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from sqlalchemy import ColumnElement, exists, insert, or_, select

from audit import schema
from audit.store import SqlAuditStore, StoredRecord, utc

MAX_PAGE: Final = 1000


@dataclass(frozen=True, slots=True)
class RecordQuery:
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive
    client: str | None = None  # a subsystem, or a member: its subsystems too
    service: str | None = None  # a service, or a provider: all its services
    user_id: str | None = None
    issue: str | None = None  # substring of the stated purpose
    outcome: str | None = None  # "ok", "fault" (any fault), or a fault code
    message_id: str | None = None
    request_id: str | None = None
    kind: str | None = None


@dataclass(frozen=True, slots=True)
class FoundRecord:
    index: int
    fields: dict[str, Any] = field(hash=False)


def _prefix(column: Any, value: str) -> ColumnElement[bool]:
    """Equal to `value`, or below it in the identifier hierarchy (`value/...`)."""
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return or_(column == value, column.like(escaped + "/%", escape="\\"))


def _conditions(q: RecordQuery) -> list[ColumnElement[bool]]:
    c = schema.log.c
    conditions: list[ColumnElement[bool]] = []
    if q.since is not None:
        conditions.append(c.at >= utc(q.since))
    if q.until is not None:
        conditions.append(c.at < utc(q.until))
    if q.client:
        conditions.append(_prefix(c.client, q.client))
    if q.service:
        conditions.append(_prefix(c.service, q.service))
    if q.user_id:
        conditions.append(c.user_id == q.user_id)
    if q.issue:
        escaped = q.issue.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        conditions.append(c.issue.like(f"%{escaped}%", escape="\\"))
    if q.outcome == "fault":
        conditions.append(c.outcome != "ok")
    elif q.outcome:
        conditions.append(c.outcome == q.outcome)
    for column, value in ((c.message_id, q.message_id), (c.request_id, q.request_id),
                          (c.kind, q.kind)):
        if value:
            conditions.append(column == value)
    return conditions


def search(store: SqlAuditStore, query: RecordQuery, *, after: int = -1,
           limit: int = 100) -> list[FoundRecord]:
    """Records matching every given filter with index > `after`, oldest first."""
    statement = (select(schema.log.c.idx, schema.log.c.leaf)
                 .where(schema.log.c.idx > after, *_conditions(query))
                 .order_by(schema.log.c.idx).limit(max(1, min(limit, MAX_PAGE))))
    with store.engine.connect() as conn:
        return [FoundRecord(int(r.idx), json.loads(r.leaf)) for r in conn.execute(statement)]


@dataclass(frozen=True, slots=True)
class DataAccess:
    """One time an agency asked about a person: what a citizen is shown."""

    index: int
    at: str
    client: str
    service: str
    purpose: str | None
    outcome: str


def data_access(store: SqlAuditStore, subject_keys: Sequence[str], now: datetime, *,
                after: int = -1, limit: int = 100) -> list[DataAccess]:
    """Requests about any of `subject_keys` that are not under an embargo at `now`.

    Only requests are listed (the response belongs to the same query); the official's user id
    is left out: the citizen learns which agency asked and why, as in Estonia's data tracker.
    """
    log, subject, embargo = schema.log.c, schema.subject.c, schema.embargo.c
    embargoed = exists().where(
        embargo.subject == subject.subject, embargo.until > utc(now),
        or_(embargo.client.is_(None), embargo.client == log.client))
    statement = (select(log.idx, log.leaf)
                 .join(schema.subject, subject.idx == log.idx)
                 .where(subject.subject.in_(list(subject_keys)), log.kind == "request",
                        log.idx > after, ~embargoed)
                 .order_by(log.idx).limit(max(1, min(limit, MAX_PAGE))))
    with store.engine.connect() as conn:
        rows = [(int(r.idx), json.loads(r.leaf)) for r in conn.execute(statement)]
    return [DataAccess(i, doc["at"], doc["client"], doc["service"], doc.get("issue"),
                       doc["outcome"]) for i, doc in rows]


def add_embargo(store: SqlAuditStore, subject_key: str, until: datetime, reason: str,
                now: datetime, client: str | None = None) -> None:
    """Hide a person's records (from one client, or all) from their data-access view until
    `until`, e.g. during a criminal investigation. Auditors still see them."""
    if not reason.strip():
        raise ValueError("an embargo needs a reason")
    with store.engine.begin() as conn:
        conn.execute(insert(schema.embargo).values(
            subject=subject_key, client=client, until=utc(until), reason=reason,
            created_at=utc(now)))



def matching_records(store: SqlAuditStore, query: RecordQuery, end: int
                     ) -> Iterator[StoredRecord]:
    """Every live record below index `end` that matches `query`, with its signature, in index
    order (streamed: an export of millions of records holds one batch at a time)."""
    statement = (select(schema.log.c.idx, schema.log.c.leaf, schema.signature.c.signature)
                 .outerjoin(schema.signature, schema.signature.c.idx == schema.log.c.idx)
                 .where(schema.log.c.idx < end, *_conditions(query))
                 .order_by(schema.log.c.idx))
    with store.engine.connect() as conn:
        for row in conn.execution_options(stream_results=True, yield_per=1000).execute(
                statement):
            yield StoredRecord(int(row.idx), bytes(row.leaf),
                               None if row.signature is None else bytes(row.signature))
