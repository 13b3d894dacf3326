"""OCSP evidence for this server's own signing certificates, attached to every signature.

Responses are fetched from the responder that global configuration names for the issuing
CA, checked, cached (X-Road: refetched every 1200 s) and re-checked at most once a minute;
while the responder is down, the cached response is used as long as it is still fresh.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from cryptography import x509

from xroad.clock import Clock
from xroad.errors import CertificateError, TransportError
from xroad.globalconf.model import GlobalConf, GlobalConfSource
from xroad.signing.ocsp import good_until
from xroad.signing.signer import Signer


class OcspSource(Protocol):
    async def response_for(self, signer: Signer) -> bytes: ...


class OcspCacheLike(Protocol):
    def get(self, cert: x509.Certificate, issuer: x509.Certificate) -> bytes: ...


class OcspCacheFactory(Protocol):
    def __call__(self, conf: GlobalConf) -> OcspCacheLike: ...


@dataclass
class CachedOcspSource:
    globalconf: GlobalConfSource
    make_cache: OcspCacheFactory
    clock: Clock
    recheck: timedelta = timedelta(seconds=60)
    _cache: OcspCacheLike | None = field(default=None, init=False, repr=False)
    _checked: dict[tuple[bytes, int], tuple[bytes, datetime, datetime]] = field(
        default_factory=dict, init=False, repr=False)

    async def response_for(self, signer: Signer) -> bytes:
        cert = signer.certificate
        if len(signer.chain) < 2:
            raise CertificateError("signing certificate chain lacks its issuer")
        key = (cert.issuer.public_bytes(), cert.serial_number)
        now = self.clock.now()
        conf = self.globalconf.current(now)
        # Never attach a response about to go stale, even within `recheck`: the peer checks
        # its freshness a moment later (a short window, as in tests, shortens the recheck).
        margin = min(self.recheck, timedelta(seconds=conf.ocsp_freshness_s) / 4)
        known = self._checked.get(key)
        if known is not None and now - known[1] < margin and now + margin < known[2]:
            return known[0]
        if self._cache is None:
            self._cache = self.make_cache(conf)
        try:
            response = await asyncio.to_thread(self._cache.get, cert, signer.chain[1])
        except TransportError as e:
            raise CertificateError(
                f"no fresh OCSP response for our signing certificate: {e}") from e
        self._checked[key] = (response, now, good_until(response, conf.ocsp_freshness_s))
        return response
