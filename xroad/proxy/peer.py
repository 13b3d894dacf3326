"""Who is on the other end of a mutual-TLS connection, according to global configuration."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm

from xroad.errors import CertificateError, SslAuthenticationFailed
from xroad.globalconf.model import GlobalConf, SecurityServerInfo
from xroad.signing.certpath import verify_chain


@dataclass(frozen=True, slots=True)
class Peer:
    """A peer security server and the configuration of its instance, which registers it."""

    server: SecurityServerInfo
    conf: GlobalConf


def authenticate_peer(cert_der: bytes | None, confs: Sequence[GlobalConf], at: datetime
                      ) -> Peer:
    """The security server whose registered authentication certificate the peer presented.

    `confs` are the configurations of this server's instance and the federated ones; the
    certificate must be registered in one of them and chain to *that* instance's approved CAs
    (another instance's CA cannot vouch for a server it does not register).
    """
    if not cert_der:
        raise SslAuthenticationFailed("peer presented no authentication certificate")
    try:
        cert = x509.load_der_x509_certificate(cert_der)
    except (ValueError, TypeError, UnsupportedAlgorithm, x509.InvalidVersion) as e:
        raise SslAuthenticationFailed(f"peer authentication certificate rejected: {e}") from e
    digest = hashlib.sha256(cert_der).hexdigest()
    for conf in confs:
        server = conf.server_by_auth_cert(digest)
        if server is None:
            continue
        try:
            verify_chain(cert, [], conf.approved_cas, at)
        except (ValueError, TypeError, UnsupportedAlgorithm, CertificateError) as e:
            raise SslAuthenticationFailed(
                f"peer authentication certificate rejected: {e}") from e
        return Peer(server, conf)
    raise SslAuthenticationFailed("peer authentication certificate is not registered for any "
                                  "security server of this or a federated instance")
