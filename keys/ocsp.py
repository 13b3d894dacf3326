"""Fetch OCSP responses for our own certificates and keep the latest good one.

X-Road's signer fetches a response for each of its certificates every `ocspFetchInterval`
(1200 s) and embeds it in every signature; peers refuse it after `ocspFreshnessSeconds`
(3600 s). So a responder outage shorter than the difference costs nothing, and a longer one
stops signing: exactly the point where nobody can tell whether the key was revoked.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID

from xroad.clock import Clock
from xroad.errors import CertificateError, TransportError
from xroad.signing.ocsp import DEFAULT_FRESHNESS_S, check_ocsp

REQUEST_MEDIA_TYPE: Final = "application/ocsp-request"
RESPONSE_MEDIA_TYPE: Final = "application/ocsp-response"
FETCH_INTERVAL: Final = timedelta(seconds=1200)

# (certificate, issuer) -> DER OCSP response; `fetch_ocsp` bound to a URL, or a fake in tests.
OcspFetch = Callable[[x509.Certificate, x509.Certificate], bytes]


def ocsp_url_of(cert: x509.Certificate) -> str:
    """The responder URL from the certificate's AIA extension."""
    try:
        aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    except x509.ExtensionNotFound as e:
        raise CertificateError("certificate names no OCSP responder (no AIA)") from e
    for desc in aia:
        if (desc.access_method == AuthorityInformationAccessOID.OCSP
                and isinstance(desc.access_location, x509.UniformResourceIdentifier)):
            return desc.access_location.value
    raise CertificateError("certificate names no OCSP responder (no AIA OCSP entry)")


def fetch_ocsp(url: str, cert: x509.Certificate, issuer: x509.Certificate,
               timeout: float = 10.0) -> bytes:
    """POST an OCSP request (SHA-1 CertID, no nonce, so responses may be cached) to `url`.

    Returns the response bytes unchecked: `check_ocsp` decides whether to trust them.
    """
    request = (ocsp.OCSPRequestBuilder()
               .add_certificate(cert, issuer, hashes.SHA1())  # noqa: S303  # RFC 6960 CertID
               .build().public_bytes(serialization.Encoding.DER))
    try:
        reply = httpx.post(url, content=request, timeout=timeout,
                           headers={"Content-Type": REQUEST_MEDIA_TYPE})
    except httpx.TimeoutException as e:
        raise TransportError(f"OCSP responder {url}: no answer in time") from e
    except httpx.HTTPError as e:
        raise TransportError(f"OCSP responder {url}: {type(e).__name__}") from e
    media_type = reply.headers.get("content-type", "").split(";")[0].strip()
    if reply.status_code != 200 or media_type != RESPONSE_MEDIA_TYPE:
        raise TransportError(f"OCSP responder {url}: HTTP {reply.status_code} {media_type}")
    return reply.content


def fetch_from_aia(timeout: float = 10.0) -> OcspFetch:
    """An `OcspFetch` that asks the responder each certificate names in its AIA."""
    def fetch(cert: x509.Certificate, issuer: x509.Certificate) -> bytes:
        return fetch_ocsp(ocsp_url_of(cert), cert, issuer, timeout)
    return fetch


@dataclass(frozen=True, slots=True)
class _Entry:
    response: bytes
    fetched_at: datetime


@dataclass
class OcspCache:
    """The latest verified good response per certificate, refetched after `interval`.

    A failed refetch (responder down) keeps serving the cached response while `check_ocsp`
    still accepts it; a response that `check_ocsp` refuses (revoked, unknown, badly signed)
    evicts it and is raised at once, so a revocation is never masked by the cache.
    Blocking (httpx sync): call from a worker thread or a scheduler, not the event loop.
    """

    fetch: OcspFetch
    trusted: Sequence[x509.Certificate]
    clock: Clock
    interval: timedelta = FETCH_INTERVAL
    freshness_s: int = DEFAULT_FRESHNESS_S
    _entries: dict[tuple[bytes, int], _Entry] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @staticmethod
    def _key(cert: x509.Certificate) -> tuple[bytes, int]:
        return cert.issuer.public_bytes(), cert.serial_number

    def get(self, cert: x509.Certificate, issuer: x509.Certificate) -> bytes:
        """A response that `check_ocsp` accepts now, fetching a new one when due."""
        now = self.clock.now()
        with self._lock:
            entry = self._entries.get(self._key(cert))
        if entry is not None and now - entry.fetched_at < self._refetch_after():
            check_ocsp(entry.response, cert, issuer, self.trusted, now, self.freshness_s)
            return entry.response
        return self._refresh(cert, issuer, entry, now)

    def _refetch_after(self) -> timedelta:
        """`interval`, but at most half the freshness window: with a window shorter than the
        interval, a cached response would otherwise go stale (and be refused) long before the
        next fetch, and stay refused after the responder came back."""
        return min(self.interval, timedelta(seconds=self.freshness_s) / 2)

    def _refresh(self, cert: x509.Certificate, issuer: x509.Certificate,
                 fallback: _Entry | None, now: datetime) -> bytes:
        try:
            response = self.fetch(cert, issuer)
        except TransportError:
            if fallback is None:
                raise
            check_ocsp(fallback.response, cert, issuer, self.trusted, now, self.freshness_s)
            return fallback.response
        try:
            check_ocsp(response, cert, issuer, self.trusted, now, self.freshness_s)
        except CertificateError:
            with self._lock:
                self._entries.pop(self._key(cert), None)
            raise
        with self._lock:
            self._entries[self._key(cert)] = _Entry(response, now)
        return response
