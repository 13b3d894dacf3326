"""The dev CA's record of every certificate it issued, like OpenSSL's `index.txt`.

The OCSP responder answers from this index alone, so a certificate the CA never recorded is
`unknown`, never `good`. It is an SQLite file so that the CLI can revoke while the responder
(another process) reads; each call opens its own connection, which keeps it thread-safe.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from xroad.clock import require_aware

INDEX_FILE = "issued.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS issued (
    serial      TEXT PRIMARY KEY,   -- upper-case hex, as in OpenSSL's index.txt
    subject     TEXT NOT NULL,
    not_after   TEXT NOT NULL,      -- ISO 8601, UTC
    status      TEXT NOT NULL,
    revoked_at  TEXT,
    reason      TEXT,
    der         BLOB NOT NULL
)
"""


class CertStatus(StrEnum):
    GOOD = "good"
    REVOKED = "revoked"


@dataclass(frozen=True, slots=True)
class IssuedCert:
    serial: int
    subject: str
    not_after: datetime
    status: CertStatus
    revoked_at: datetime | None = None
    reason: x509.ReasonFlags | None = None


def _row_to_cert(row: tuple[str, str, str, str, str | None, str | None]) -> IssuedCert:
    serial, subject, not_after, status, revoked_at, reason = row
    return IssuedCert(
        serial=int(serial, 16),
        subject=subject,
        not_after=datetime.fromisoformat(not_after),
        status=CertStatus(status),
        revoked_at=datetime.fromisoformat(revoked_at) if revoked_at else None,
        reason=x509.ReasonFlags(reason) if reason else None,
    )


_SELECT = "SELECT serial, subject, not_after, status, revoked_at, reason FROM issued"


@dataclass(frozen=True)
class IssuedIndex:
    path: Path

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=10)) as conn, conn:
            conn.execute(_SCHEMA)
            yield conn

    def record(self, cert: x509.Certificate) -> None:
        """Record a newly issued certificate as good; a serial is issued only once."""
        try:
            with self._connect() as conn:
                conn.execute(
                    "INSERT INTO issued (serial, subject, not_after, status, der) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (f"{cert.serial_number:X}", cert.subject.rfc4514_string(),
                     cert.not_valid_after_utc.isoformat(), CertStatus.GOOD.value,
                     cert.public_bytes(serialization.Encoding.DER)))
        except sqlite3.IntegrityError as e:
            raise ValueError(f"serial {cert.serial_number:X} was already issued") from e

    def get(self, serial: int) -> IssuedCert | None:
        """The record for `serial`, or None if this CA never issued it."""
        with self._connect() as conn:
            row = conn.execute(_SELECT + " WHERE serial = ?", (f"{serial:X}",)).fetchone()
        return _row_to_cert(row) if row else None

    def certificate(self, serial: int) -> x509.Certificate | None:
        """The issued certificate itself, e.g. to export it for a member."""
        with self._connect() as conn:
            row = conn.execute("SELECT der FROM issued WHERE serial = ?",
                               (f"{serial:X}",)).fetchone()
        return x509.load_der_x509_certificate(row[0]) if row else None

    def all(self) -> list[IssuedCert]:
        with self._connect() as conn:
            rows = conn.execute(_SELECT + " ORDER BY rowid").fetchall()
        return [_row_to_cert(r) for r in rows]

    def revoke(self, serial: int, reason: x509.ReasonFlags, at: datetime) -> IssuedCert:
        """Mark `serial` revoked from `at` (whole seconds, as OCSP carries them).

        Raises `LookupError` for a serial this CA never issued and `ValueError` if it is
        already revoked: the first revocation time is what relying parties have seen.
        """
        require_aware(at)
        if reason == x509.ReasonFlags.remove_from_crl:
            raise ValueError("removeFromCRL is not a revocation reason")
        when = at.astimezone(UTC).replace(microsecond=0)
        with self._connect() as conn:
            cursor = conn.execute(
                "UPDATE issued SET status = ?, revoked_at = ?, reason = ? "
                "WHERE serial = ? AND status = ?",
                (CertStatus.REVOKED.value, when.isoformat(), reason.value, f"{serial:X}",
                 CertStatus.GOOD.value))
            updated = cursor.rowcount
        record = self.get(serial)
        if record is None:
            raise LookupError(f"serial {serial:X} was not issued by this CA")
        if updated != 1:
            raise ValueError(f"serial {serial:X} is already revoked")
        return record
