"""TLS contexts for the mutual-TLS channel between security servers.

The handshake checks the chain against the approved CAs (of this instance and of the federated
ones, added as they become known: `TrustedCas`); the server proxy and the client proxy then
check the peer certificate's hash against global configuration (`peer.py`).
"""

from __future__ import annotations

import ssl
from collections.abc import Iterable
from pathlib import Path

import structlog
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

log = structlog.get_logger(__name__)


def _base(ctx: ssl.SSLContext, cert_file: Path, key_file: Path, key_pin: str,
          ca_pem: str) -> ssl.SSLContext:
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(str(cert_file), str(key_file), password=key_pin)
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_verify_locations(cadata=ca_pem)
    return ctx


def server_context(cert_file: Path, key_file: Path, key_pin: str, ca_pem: str) -> ssl.SSLContext:
    return _base(ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER), cert_file, key_file, key_pin, ca_pem)


def client_context(cert_file: Path, key_file: Path, key_pin: str, ca_pem: str) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False  # identity is the registered certificate hash, not a host name
    return _base(ctx, cert_file, key_file, key_pin, ca_pem)


class TrustedCas:
    """The CAs both TLS contexts accept, growing as global configurations (own and federated)
    approve more. A live context takes new CAs for its next handshakes; none can be taken out
    again, so the handshake is only a first filter: every peer is then checked against the
    configurations in force (`peer.py`: registered certificate, chain to its instance's CAs).
    """

    def __init__(self, contexts: Iterable[ssl.SSLContext],
                 loaded: Iterable[x509.Certificate] = ()) -> None:
        """`loaded`: the CAs the contexts were made with."""
        self._contexts = tuple(contexts)
        self._loaded: set[bytes] = {c.fingerprint(hashes.SHA256()) for c in loaded}

    def add(self, cas: Iterable[x509.Certificate]) -> None:
        new = {c.fingerprint(hashes.SHA256()): c for c in cas}
        new = {k: c for k, c in new.items() if k not in self._loaded}
        if not new:
            return
        pem = "".join(c.public_bytes(serialization.Encoding.PEM).decode() for c in new.values())
        for ctx in self._contexts:
            ctx.load_verify_locations(cadata=pem)
        self._loaded.update(new)
        log.info("tls.trusted_cas_added",
                 subjects=sorted(c.subject.rfc4514_string() for c in new.values()))
