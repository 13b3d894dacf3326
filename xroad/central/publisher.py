"""Publish the signed global configuration.

A new *version* starts only when the content changes (`codec.fingerprint`: everything but the
version, generation and expiry time); every publication is re-signed with a fresh generation
time so the expiry keeps moving. Publications happen at least every generation interval and
at once after `changed()`, which the admin side calls after a registry write. Each version is
recorded once (`published_conf`), so versions only grow and can be audited.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Protocol

import structlog
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from xroad.central.models import PublishedConf
from xroad.clock import Clock
from xroad.globalconf import codec
from xroad.globalconf.model import GlobalConf
from xroad.signing.signer import Signer

log = structlog.get_logger(__name__)


class ConfSource(Protocol):
    """The registry's view that goes into global configuration (`service.Registry`)."""

    @property
    def instance(self) -> str: ...

    def snapshot(self, version: int, at: datetime, validity: timedelta) -> GlobalConf: ...


@dataclass(frozen=True, slots=True)
class ConfSigningKeys:
    """The key that signs now, and the certificates of keys announced to sign next."""

    signer: Signer
    next_certs: tuple[x509.Certificate, ...] = ()


class ConfKeySource(Protocol):
    """Read at every publication, so a key prepared or activated meanwhile is picked up."""

    def signing_keys(self) -> ConfSigningKeys: ...


@dataclass(frozen=True, slots=True)
class FixedConfKeys:
    """Keys that never change (tests; a central server without rotation)."""

    keys: ConfSigningKeys

    def signing_keys(self) -> ConfSigningKeys:
        return self.keys


@dataclass(frozen=True, slots=True)
class PublishedVersion:
    version: int
    generated_at: datetime  # when this version was first generated
    content_sha256: str  # `codec.fingerprint` of its content


class PublishedLog(Protocol):
    """Where every published version is recorded."""

    def latest(self) -> PublishedVersion | None: ...

    def record(self, published: PublishedVersion) -> None: ...


@dataclass(frozen=True)
class SqlPublishedLog:
    """The `published_conf` table: one row per version, with its content fingerprint."""

    engine: Engine

    def latest(self) -> PublishedVersion | None:
        with Session(self.engine) as s:
            row = s.scalars(select(PublishedConf).order_by(PublishedConf.version.desc())
                            .limit(1)).first()
            if row is None:
                return None
            return PublishedVersion(row.version, row.generated_at, row.content_sha256)

    def record(self, published: PublishedVersion) -> None:
        with Session(self.engine) as s, s.begin():
            s.add(PublishedConf(version=published.version, generated_at=published.generated_at,
                                content_sha256=published.content_sha256))


@dataclass(frozen=True, slots=True)
class Publication:
    """The configuration being served, as signed, and by which keys."""

    conf: GlobalConf
    signed: bytes
    content_sha256: str
    signing_cert: x509.Certificate
    next_certs: tuple[x509.Certificate, ...]


def key_id(cert: x509.Certificate) -> str:
    """Hex SHA-256 of the public key (SubjectPublicKeyInfo): stable across token labels."""
    return hashlib.sha256(cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).hexdigest()


@dataclass
class ConfPublisher:
    """Generates the signed global configuration; servers download the latest one."""

    registry: ConfSource
    keys: ConfKeySource
    published: PublishedLog
    clock: Clock
    validity: timedelta
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _wake: threading.Event = field(default_factory=threading.Event, init=False, repr=False)
    _stopping: threading.Event = field(default_factory=threading.Event, init=False, repr=False)
    _thread: threading.Thread | None = field(default=None, init=False, repr=False)
    _version: PublishedVersion | None = field(default=None, init=False, repr=False)
    _last: Publication | None = field(default=None, init=False, repr=False)

    def publish(self) -> bytes:
        """Generate and sign now; start a new version only if the content changed."""
        return self._publish().signed

    def _publish(self) -> Publication:
        with self._lock:
            at = self.clock.now()
            keys = self.keys.signing_keys()
            draft = replace(self.registry.snapshot(0, at, self.validity),
                            verification_certs=_unique((keys.signer.certificate,
                                                        *keys.next_certs)))
            digest = codec.fingerprint(draft)
            latest = self._version or self.published.latest()
            if latest is None or latest.content_sha256 != digest:
                latest = PublishedVersion((latest.version if latest else 0) + 1, at, digest)
                self.published.record(latest)
                log.info("globalconf.new_version", version=latest.version, content_sha256=digest)
            self._version = latest
            conf = replace(draft, version=latest.version)
            signed = codec.sign(codec.encode(conf), keys.signer)
            self._last = publication = Publication(conf, signed, digest,
                                                   keys.signer.certificate, keys.next_certs)
        log.info("globalconf.published", version=conf.version,
                 expires_at=conf.expires_at.isoformat())
        return publication

    def current(self) -> bytes:
        return self.latest().signed

    def latest(self) -> Publication:
        """What `/globalconf` serves (published now if nothing was yet)."""
        return self._last or self._publish()

    def changed(self) -> None:
        """Publish at once in the background: the registry changed. Safe from any thread.

        A burst of changes is coalesced into one or two publications; without `start()` this
        does nothing until the next `publish()`.
        """
        self._wake.set()

    def start(self, interval_s: float) -> None:
        """Publish at least every `interval_s` seconds, and after every `changed()`."""
        if self._thread is not None:
            raise RuntimeError("the configuration publisher is already running")
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, args=(interval_s,),
                                        name="conf-publisher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def _run(self, interval_s: float) -> None:
        while True:
            self._wake.wait(interval_s)
            self._wake.clear()  # before publishing: a change from now on wakes us again
            if self._stopping.is_set():
                return
            try:
                self.publish()
            except Exception:  # keep the thread: the last copy stays valid until it expires
                log.exception("globalconf.publish_failed")


def _unique(certs: tuple[x509.Certificate, ...]) -> tuple[x509.Certificate, ...]:
    return tuple(dict.fromkeys(certs))
