"""The configuration anchor: instance, where to download, and the keys that sign (pure codec).

It is distributed out of band (the demo writes it to the data directory); a security server
trusts a global configuration only if it verifies against the anchor.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from xroad.errors import OutdatedGlobalConf


@dataclass(frozen=True, slots=True)
class ConfigurationAnchor:
    instance: str
    download_url: str
    verification_certs: tuple[x509.Certificate, ...]

    def fingerprint(self) -> str:
        """Hex SHA-256 of the instance and the verification certificates, not of the download
        URL (which moves with ports): what a security server's trusted key set grew from."""
        digest = hashlib.sha256(self.instance.encode())
        for der in sorted(c.public_bytes(serialization.Encoding.DER)
                          for c in self.verification_certs):
            digest.update(hashlib.sha256(der).digest())
        return digest.hexdigest()

    def encode(self) -> bytes:
        return json.dumps({
            "instance": self.instance,
            "download_url": self.download_url,
            "verification_certs": [
                c.public_bytes(serialization.Encoding.PEM).decode()
                for c in self.verification_certs],
        }, indent=2).encode()

    @classmethod
    def decode(cls, data: bytes) -> ConfigurationAnchor:
        try:
            doc = json.loads(data)
            certs = tuple(x509.load_pem_x509_certificate(c.encode())
                          for c in doc["verification_certs"])
            return cls(str(doc["instance"]), str(doc["download_url"]), certs)
        except (KeyError, TypeError, ValueError) as e:
            raise OutdatedGlobalConf(f"configuration anchor is malformed: {e}") from e
