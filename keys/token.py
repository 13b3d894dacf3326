"""Software token: private keys encrypted at rest in one directory, unlocked with a PIN.

Each key is stored as `<label>.key.pem` (PKCS#8, encrypted with the PIN) next to its
certificate `<label>.cert.pem` (leaf first, then the issuing chain). The PIN lives only in
memory of the process that unlocked the token and is never logged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

from xroad.errors import XRoadError
from xroad.signing.signer import SignatureAlgorithm, algorithm_for, sign_with_key


class TokenLocked(XRoadError):
    """The token is locked or the PIN is wrong."""


@dataclass(frozen=True)
class SoftwareSigner:
    """A `Signer` backed by a key loaded from a software token."""

    label: str
    _key: PrivateKeyTypes = field(repr=False)
    _chain: tuple[x509.Certificate, ...]

    @property
    def certificate(self) -> x509.Certificate:
        return self._chain[0]

    @property
    def chain(self) -> tuple[x509.Certificate, ...]:
        return self._chain

    @property
    def algorithm(self) -> SignatureAlgorithm:
        return algorithm_for(self._key)

    @property
    def private_key(self) -> PrivateKeyTypes:
        """For TLS contexts only (`ssl` needs a key file); signing goes through `sign`."""
        return self._key

    def sign(self, data: bytes) -> bytes:
        return sign_with_key(self._key, data)


@dataclass(frozen=True)
class SoftwareToken:
    directory: Path

    def key_path(self, label: str) -> Path:
        return self.directory / f"{label}.key.pem"

    def cert_path(self, label: str) -> Path:
        return self.directory / f"{label}.cert.pem"

    def labels(self) -> list[str]:
        return sorted(p.name.removesuffix(".key.pem") for p in self.directory.glob("*.key.pem"))

    def purpose_path(self, label: str) -> Path:
        """Where `keys.csr` records what the key is for (a `keys.profiles.KeyPurpose`)."""
        return self.directory / f"{label}.purpose.json"

    def store(self, label: str, key: PrivateKeyTypes, chain: list[x509.Certificate],
              pin: str) -> None:
        self.store_key(label, key, pin)
        self.store_certificate(label, chain)

    def store_key(self, label: str, key: PrivateKeyTypes, pin: str) -> None:
        """Store a key that has no certificate yet (between key generation and CSR import)."""
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        data = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(pin.encode()),
        )
        path = self.key_path(label)
        path.write_bytes(data)
        path.chmod(0o600)

    def store_certificate(self, label: str, chain: list[x509.Certificate]) -> None:
        self.cert_path(label).write_bytes(
            b"".join(c.public_bytes(serialization.Encoding.PEM) for c in chain))

    def load_key(self, label: str, pin: str) -> PrivateKeyTypes:
        try:
            return serialization.load_pem_private_key(self.key_path(label).read_bytes(),
                                                      password=pin.encode())
        except FileNotFoundError as e:
            raise TokenLocked(f"no key {label!r} in token {self.directory}") from e
        except (ValueError, TypeError) as e:
            raise TokenLocked(f"cannot unlock key {label!r}: wrong PIN?") from e

    def chain_of(self, label: str) -> tuple[x509.Certificate, ...]:
        """The stored certificate chain, empty while the key awaits its certificate."""
        path = self.cert_path(label)
        data = path.read_bytes() if path.exists() else b""
        return tuple(x509.load_pem_x509_certificates(data)) if data.strip() else ()

    def unlock(self, label: str, pin: str) -> SoftwareSigner:
        key = self.load_key(label, pin)
        chain = tuple(x509.load_pem_x509_certificates(self.cert_path(label).read_bytes()))
        return SoftwareSigner(label, key, chain)
