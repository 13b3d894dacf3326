"""`OcspCache` with a freshness window shorter than its fetch interval: it refetches in time.

X-Road requires `ocspFetchInterval` < `ocspFreshnessSeconds`; the central server may publish a
short freshness (tests use seconds). The cache then refetches after half the window instead of
serving a response until it is stale and refusing it until the fetch interval is over.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509

from keys.fixedpki import FixedPki
from keys.ocsp import OcspCache
from keys.ocsp_responses import OcspResponder
from tests.pki.test_ocsp_cache import FakeResponder, IssueCert
from xroad.clock import FixedClock
from xroad.signing.ocsp import StaleOcspResponse

FRESHNESS_S = 120
SECONDS = timedelta(seconds=1)


@pytest.fixture
def setup(pki: FixedPki, responder: OcspResponder, issue: IssueCert
          ) -> tuple[OcspCache, FakeResponder, x509.Certificate]:
    clock = FixedClock(datetime.now(UTC))  # producedAt comes from the system clock
    fake = FakeResponder(responder, clock)
    return (OcspCache(fake.fetch, pki.anchors, clock, freshness_s=FRESHNESS_S), fake,
            issue(pki.ca))


def test_refetches_after_half_the_freshness_window(
        setup: tuple[OcspCache, FakeResponder, x509.Certificate], pki: FixedPki) -> None:
    cache, fake, cert = setup
    first = cache.get(cert, pki.ca.issuing)
    fake.clock.advance(59 * SECONDS)
    assert cache.get(cert, pki.ca.issuing) == first
    assert len(fake.calls) == 1
    fake.clock.advance(2 * SECONDS)  # 61 s: due, well before the response goes stale
    cache.get(cert, pki.ca.issuing)
    assert len(fake.calls) == 2


def test_outage_bridged_while_fresh_then_refused(
        setup: tuple[OcspCache, FakeResponder, x509.Certificate], pki: FixedPki) -> None:
    cache, fake, cert = setup
    good = cache.get(cert, pki.ca.issuing)
    fake.down = True
    fake.clock.advance(90 * SECONDS)  # refetch due, responder down: the fresh copy serves
    assert cache.get(cert, pki.ca.issuing) == good
    assert len(fake.calls) == 2
    fake.clock.advance(40 * SECONDS)  # 130 s after producedAt: stale, refused
    with pytest.raises(StaleOcspResponse):
        cache.get(cert, pki.ca.issuing)
