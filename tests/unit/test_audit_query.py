"""Auditors' search and the citizen's data-access view over a real store."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from audit.query import RecordQuery, add_embargo, data_access, search
from audit.record import AuditRecord
from audit.store import SqlAuditStore
from audit.subjects import SubjectIndex

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
SUBJECTS = SubjectIndex(b"s" * 32)
BAT, DORJ = SUBJECTS.key_of("УБ99112233"), SUBJECTS.key_of("ДА85010112")


def _record(i, **changes):
    return replace(AuditRecord(
        at=T0 + timedelta(minutes=i), security_server="MN/GOV/GASR/ss1", kind="request",
        message_id=f"m-{i}", request_id=f"r-{i}", client="MN/GOV/EMONGOLIA/portal",
        service="MN/GOV/GASR/civil/persons", user_id="officer-1", issue="benefit claim 42",
        represented_party=None, message_digest=None, signature_digest=None,
        signer_cert_sha256=None, outcome="ok"), **changes)


@pytest.fixture
def store(tmp_path):
    store = SqlAuditStore(f"sqlite:///{tmp_path}/a.db")
    store.append_many([
        _record(0, subjects=(BAT,)),
        _record(0, kind="response", subjects=(BAT,)),
        _record(1, client="MN/GOV/MTA/tax", user_id="auditor-7", issue="tax audit 2026-17",
                subjects=(BAT,)),
        _record(2, client="MN/GOV/MTA/tax", service="MN/GOV/ALAMGAC/land/parcels",
                outcome="Server.ServerProxy.AccessDenied", subjects=(DORJ,)),
        _record(3, client="MN/COM/KHANBANK/loans", issue=None, subjects=(BAT, DORJ)),
    ])
    yield store
    store.close()


@pytest.mark.parametrize(("query", "expected"), [
    (RecordQuery(), [0, 1, 2, 3, 4]),
    (RecordQuery(since=T0 + timedelta(minutes=1), until=T0 + timedelta(minutes=3)), [2, 3]),
    (RecordQuery(client="MN/GOV/MTA/tax"), [2, 3]),
    (RecordQuery(client="MN/GOV/MTA"), [2, 3]),  # a member: all its subsystems
    (RecordQuery(client="MN/GOV/MT"), []),  # not a prefix of identifiers
    (RecordQuery(service="MN/GOV/ALAMGAC"), [3]),
    (RecordQuery(user_id="auditor-7"), [2]),
    (RecordQuery(issue="audit"), [2]),
    (RecordQuery(issue="%"), []),  # wildcards are literal
    (RecordQuery(outcome="fault"), [3]),
    (RecordQuery(outcome="ok", kind="request"), [0, 2, 4]),
    (RecordQuery(message_id="m-2"), [3]),
    (RecordQuery(request_id="r-0"), [0, 1]),
])
def test_search_filters(store, query, expected):
    assert [r.index for r in search(store, query)] == expected


def test_search_pages_by_index(store):
    first = search(store, RecordQuery(), limit=2)
    assert [r.index for r in first] == [0, 1]
    assert [r.index for r in search(store, RecordQuery(), after=first[-1].index, limit=2)] == [2, 3]
    assert first[0].fields["request_id"] == "r-0"


def test_a_citizen_sees_each_query_about_them_once_with_its_purpose(store):
    seen = data_access(store, [BAT], T0)
    assert [(a.index, a.client, a.purpose) for a in seen] == [
        (0, "MN/GOV/EMONGOLIA/portal", "benefit claim 42"),
        (2, "MN/GOV/MTA/tax", "tax audit 2026-17"),
        (4, "MN/COM/KHANBANK/loans", None)]
    assert [a.index for a in data_access(store, [DORJ], T0)] == [3, 4]
    assert data_access(store, [SUBJECTS.key_of("ЖЖ00000000")], T0) == []


def test_an_embargo_hides_queries_until_its_date(store):
    add_embargo(store, BAT, T0 + timedelta(days=30), "investigation 2026/118", T0,
                client="MN/GOV/MTA/tax")
    assert [a.index for a in data_access(store, [BAT], T0)] == [0, 4]
    assert [a.index for a in data_access(store, [BAT], T0 + timedelta(days=31))] == [0, 2, 4]
    add_embargo(store, DORJ, T0 + timedelta(days=1), "investigation 2026/119", T0)
    assert data_access(store, [DORJ], T0) == []
    with pytest.raises(ValueError, match="reason"):
        add_embargo(store, DORJ, T0, " ", T0)
