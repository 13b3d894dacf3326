"""`OcspCache`: a responder outage is bridged by a fresh cached response, never by a stale one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import ocsp

from keys.fixedpki import FixedPki
from keys.ocsp import OcspCache
from keys.ocsp_responses import OcspResponder
from xroad.clock import FixedClock
from xroad.errors import TransportError
from xroad.signing.ocsp import CertificateRevoked, StaleOcspResponse

IssueCert = Callable[..., x509.Certificate]
SECONDS = timedelta(seconds=1)


@dataclass
class FakeResponder:
    """The real responder without HTTP; `down` simulates an outage."""

    responder: OcspResponder
    clock: FixedClock
    down: bool = False
    calls: list[int] = field(default_factory=list)

    def fetch(self, cert: x509.Certificate, issuer: x509.Certificate) -> bytes:
        self.calls.append(cert.serial_number)
        if self.down:
            raise TransportError("OCSP responder: connection refused")
        request = (ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, hashes.SHA1())  # noqa: S303
                   .build().public_bytes(Encoding.DER))
        return self.responder.respond(request, self.clock.now())


@pytest.fixture
def setup(pki: FixedPki, responder: OcspResponder, issue: IssueCert
          ) -> tuple[OcspCache, FakeResponder, x509.Certificate]:
    # producedAt comes from the system clock, so the fake clock starts at the real time.
    clock = FixedClock(datetime.now(UTC))
    fake = FakeResponder(responder, clock)
    return OcspCache(fake.fetch, pki.anchors, clock), fake, issue(pki.ca)


def test_fetches_once_per_interval(setup: tuple[OcspCache, FakeResponder, x509.Certificate],
                                   pki: FixedPki) -> None:
    cache, fake, cert = setup
    first = cache.get(cert, pki.ca.issuing)
    fake.clock.advance(1199 * SECONDS)
    assert cache.get(cert, pki.ca.issuing) == first
    assert len(fake.calls) == 1
    fake.clock.advance(2 * SECONDS)
    cache.get(cert, pki.ca.issuing)
    assert len(fake.calls) == 2


def test_outage_uses_fresh_cached_response_then_refuses_stale(
        setup: tuple[OcspCache, FakeResponder, x509.Certificate], pki: FixedPki) -> None:
    cache, fake, cert = setup
    good = cache.get(cert, pki.ca.issuing)
    fake.down = True
    fake.clock.advance(1300 * SECONDS)
    assert cache.get(cert, pki.ca.issuing) == good
    fake.clock.advance(2400 * SECONDS)  # 3700 s after producedAt
    with pytest.raises(StaleOcspResponse):
        cache.get(cert, pki.ca.issuing)


def test_outage_without_cached_response(
        setup: tuple[OcspCache, FakeResponder, x509.Certificate], pki: FixedPki) -> None:
    cache, fake, cert = setup
    fake.down = True
    with pytest.raises(TransportError):
        cache.get(cert, pki.ca.issuing)


def test_revocation_is_never_masked_by_the_cache(
        setup: tuple[OcspCache, FakeResponder, x509.Certificate], pki: FixedPki) -> None:
    cache, fake, cert = setup
    cache.get(cert, pki.ca.issuing)
    pki.ca.revoke(cert.serial_number, x509.ReasonFlags.key_compromise, fake.clock.now())
    fake.clock.advance(1201 * SECONDS)
    with pytest.raises(CertificateRevoked):
        cache.get(cert, pki.ca.issuing)
    fake.down = True  # the revoked answer evicted the good one: nothing to fall back to
    with pytest.raises(TransportError):
        cache.get(cert, pki.ca.issuing)
