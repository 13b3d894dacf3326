"""Who is on the other end of a mutual-TLS connection, according to global configuration."""

from __future__ import annotations

import hashlib
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm

from xroad.errors import CertificateError, SslAuthenticationFailed
from xroad.globalconf.model import GlobalConf, SecurityServerInfo
from xroad.signing.certpath import verify_chain


def authenticate_peer(cert_der: bytes | None, conf: GlobalConf, at: datetime
                      ) -> SecurityServerInfo:
    """The security server whose registered authentication certificate the peer presented."""
    if not cert_der:
        raise SslAuthenticationFailed("peer presented no authentication certificate")
    try:
        cert = x509.load_der_x509_certificate(cert_der)
        verify_chain(cert, [], conf.approved_cas, at)
    except (ValueError, TypeError, UnsupportedAlgorithm, x509.InvalidVersion,
            CertificateError) as e:
        raise SslAuthenticationFailed(f"peer authentication certificate rejected: {e}") from e
    server = conf.server_by_auth_cert(hashlib.sha256(cert_der).hexdigest())
    if server is None:
        raise SslAuthenticationFailed(
            "peer authentication certificate is not registered for any security server")
    return server
