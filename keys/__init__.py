"""Keys and certificates: tokens holding members' and servers' keys, and the dev PKI."""

from keys.certs import cert_sha256, member_of_signing_cert
from keys.token import SoftwareToken, TokenLocked

__all__ = ["SoftwareToken", "TokenLocked", "cert_sha256", "member_of_signing_cert"]
