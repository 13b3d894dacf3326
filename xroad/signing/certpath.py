"""Certificate path validation against the approved CAs of global configuration (pure)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature as _CryptoInvalidSignature

from xroad.clock import require_aware
from xroad.errors import CertificateError

_MAX_DEPTH = 4


def _check_time(cert: x509.Certificate, at: datetime) -> None:
    if at < cert.not_valid_before_utc:
        raise CertificateError(f"certificate '{cert.subject.rfc4514_string()}' is not yet valid")
    if at > cert.not_valid_after_utc:
        raise CertificateError(f"certificate '{cert.subject.rfc4514_string()}' has expired")


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        return False


def verify_chain(leaf: x509.Certificate, intermediates: Sequence[x509.Certificate],
                 anchors: Sequence[x509.Certificate], at: datetime) -> list[x509.Certificate]:
    """Return the path leaf..anchor, or raise `CertificateError`.

    Only `anchors` are trusted; `intermediates` (sent by the peer) merely help to find the path,
    each link's signature, validity at `at` and CA flag are checked.
    """
    require_aware(at)
    path = _path(leaf, tuple(intermediates), tuple(anchors))
    for cert in path:
        _check_time(cert, at)
    return list(path)


@functools.lru_cache(maxsize=256)
def _path(leaf: x509.Certificate, intermediates: tuple[x509.Certificate, ...],
          anchors: tuple[x509.Certificate, ...]) -> tuple[x509.Certificate, ...]:
    """The path and its signatures, which do not depend on time: found once per chain.

    Peers send the same chain with every message; only a successful result is remembered.
    """
    path = [leaf]
    current = leaf
    pool = [*intermediates, *anchors]
    for _ in range(_MAX_DEPTH):
        if current in anchors:
            return tuple(path)
        issuer = next((c for c in pool if c.subject == current.issuer and c != current), None)
        if issuer is None:
            raise CertificateError(
                f"certificate '{current.subject.rfc4514_string()}' is not issued by an approved CA")
        if not _is_ca(issuer):
            raise CertificateError(f"issuer '{issuer.subject.rfc4514_string()}' is not a CA")
        try:
            current.verify_directly_issued_by(issuer)
        except (_CryptoInvalidSignature, ValueError, TypeError) as e:
            raise CertificateError(
                f"certificate '{current.subject.rfc4514_string()}' has a bad issuer signature"
            ) from e
        path.append(issuer)
        current = issuer
    raise CertificateError("certificate path too long")
