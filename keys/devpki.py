"""A development PKI a new country can use for a test environment.

Root and issuing CA, an OCSP responder certificate and a time-stamping authority certificate,
all issued on first use and kept in one software token directory next to the index of issued
certificates (`keys.issued`). TEST ONLY: the CA keys sit on disk (encrypted with the PIN). A
production instance uses the country's real CA, OCSP responder and TSA instead (see README).

EC signatures use deterministic ECDSA (RFC 6979), so fixed keys, serials and times give
byte-identical certificates (`keys.testpki`).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Final, Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import (
    CertificateIssuerPrivateKeyTypes,
    CertificatePublicKeyTypes,
)
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID

from keys.certs import member_subject
from keys.issued import INDEX_FILE, IssuedCert, IssuedIndex
from keys.token import SoftwareSigner, SoftwareToken
from xroad.identifiers import ClientId, SecurityServerId

KeyKind = Literal["ec", "rsa"]

DEFAULT_OCSP_URL: Final = "http://127.0.0.1:8888"
ROOT_LABEL: Final = "root-ca"
ISSUING_LABEL: Final = "issuing-ca"
OCSP_LABEL: Final = "ocsp-responder"
TSA_LABEL: Final = "tsa"
CHAIN_FILE: Final = "ca-chain.pem"
_RENEW_BEFORE: Final = timedelta(days=30)


def new_key(kind: KeyKind = "ec") -> ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey:
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ec.generate_private_key(ec.SECP256R1())


def _name(common_name: str, instance: str) -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, instance[:2]),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, f"{instance} X-Road test PKI"),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ])


def _with_common_name(name: x509.Name, common_name: str) -> x509.Name:
    kept = [a for a in name if a.oid != NameOID.COMMON_NAME]
    return x509.Name([*kept, x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _sign(builder: x509.CertificateBuilder, key: CertificateIssuerPrivateKeyTypes
          ) -> x509.Certificate:
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return builder.sign(key, hashes.SHA256(), ecdsa_deterministic=True)
    return builder.sign(key, hashes.SHA256())


def _usage(*, signature: bool = True, non_repudiation: bool = False,
           key_encipherment: bool = False, ca: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(digital_signature=signature, content_commitment=non_repudiation,
                         key_encipherment=key_encipherment, data_encipherment=False,
                         key_agreement=False, key_cert_sign=ca, crl_sign=ca,
                         encipher_only=False, decipher_only=False)


@dataclass(frozen=True)
class DevCa:
    """The issuing CA of the dev PKI, with the root above it and its index of issued certs."""

    root: x509.Certificate
    issuing: x509.Certificate
    issuing_key: CertificateIssuerPrivateKeyTypes
    directory: Path
    ocsp_url: str | None = DEFAULT_OCSP_URL

    @property
    def chain(self) -> list[x509.Certificate]:
        return [self.issuing, self.root]

    @property
    def index(self) -> IssuedIndex:
        return IssuedIndex(self.directory / INDEX_FILE)

    def revoke(self, serial: int, reason: x509.ReasonFlags, at: datetime) -> IssuedCert:
        """Revoke from `at`; the OCSP responder reports it from its next answer on."""
        return self.index.revoke(serial, reason, at)

    def status(self, serial: int) -> IssuedCert | None:
        """The index record for `serial`, or None if this CA did not issue it."""
        return self.index.get(serial)

    def _leaf(self, subject: x509.Name, public_key: CertificatePublicKeyTypes, at: datetime,
              days: int, serial: int | None, *, ocsp_checked: bool = True
              ) -> x509.CertificateBuilder:
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self.issuing.subject)
            .public_key(public_key)
            .serial_number(serial if serial is not None else x509.random_serial_number())
            .not_valid_before(at - timedelta(hours=1))
            .not_valid_after(at + timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                self.issuing_key.public_key()), critical=False)
        )
        if ocsp_checked and self.ocsp_url is not None:
            builder = builder.add_extension(x509.AuthorityInformationAccess([
                x509.AccessDescription(AuthorityInformationAccessOID.OCSP,
                                       x509.UniformResourceIdentifier(self.ocsp_url))]),
                critical=False)
        return builder

    def _issue(self, builder: x509.CertificateBuilder) -> x509.Certificate:
        cert = _sign(builder, self.issuing_key)
        self.index.record(cert)
        return cert

    def issue_signing_cert(self, member: ClientId, public_key: CertificatePublicKeyTypes,
                           at: datetime, days: int = 365, *, serial: int | None = None
                           ) -> x509.Certificate:
        return self._issue(self._leaf(member_subject(member), public_key, at, days, serial)
                           .add_extension(_usage(non_repudiation=True), critical=True))

    def issue_auth_cert(self, server: SecurityServerId, public_key: CertificatePublicKeyTypes,
                        at: datetime, hosts: tuple[str, ...] = ("127.0.0.1", "localhost"),
                        days: int = 365, *, serial: int | None = None) -> x509.Certificate:
        names: list[x509.GeneralName] = []
        for host in hosts:
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(host)))
            except ValueError:
                names.append(x509.DNSName(host))
        subject = x509.Name([
            x509.NameAttribute(NameOID.COUNTRY_NAME, server.owner.instance[:2]),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, server.owner.member_code),
            x509.NameAttribute(NameOID.COMMON_NAME, str(server)),
        ])
        return self._issue(
            self._leaf(subject, public_key, at, days, serial)
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(_usage(key_encipherment=True), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH,
                                                  ExtendedKeyUsageOID.CLIENT_AUTH]),
                           critical=False))

    def issue_conf_signing_cert(self, instance: str, public_key: CertificatePublicKeyTypes,
                                at: datetime, days: int = 3650, *, serial: int | None = None
                                ) -> x509.Certificate:
        subject = _name(f"{instance} central server configuration signing", instance)
        return self._issue(self._leaf(subject, public_key, at, days, serial))

    def issue_ocsp_responder_cert(self, public_key: CertificatePublicKeyTypes, at: datetime,
                                  days: int = 365, *, serial: int | None = None
                                  ) -> x509.Certificate:
        """A delegated responder (RFC 6960 §4.2.2.2): EKU OCSPSigning, and id-pkix-ocsp-nocheck
        because asking the responder about its own certificate would be circular."""
        subject = _with_common_name(self.issuing.subject, "Dev OCSP Responder")
        return self._issue(
            self._leaf(subject, public_key, at, days, serial, ocsp_checked=False)
            .add_extension(_usage(), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.OCSP_SIGNING]),
                           critical=False)
            .add_extension(x509.OCSPNoCheck(), critical=False))

    def issue_tsa_cert(self, public_key: CertificatePublicKeyTypes, at: datetime,
                       days: int = 1825, *, serial: int | None = None) -> x509.Certificate:
        """RFC 3161 §2.3: the only, critical, extended key usage is timeStamping."""
        subject = _with_common_name(self.issuing.subject, "Dev Time-Stamping Authority")
        return self._issue(
            self._leaf(subject, public_key, at, days, serial)
            .add_extension(_usage(non_repudiation=True), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]),
                           critical=True))

    def ensure_ocsp_signer(self, pin: str, at: datetime) -> SoftwareSigner:
        """The responder's key and certificate, issued on first use and renewed near expiry."""
        return self._ensure_signer(OCSP_LABEL, pin, at, self.issue_ocsp_responder_cert)

    def ensure_tsa_signer(self, pin: str, at: datetime) -> SoftwareSigner:
        """The TSA's key and certificate, issued on first use and renewed near expiry."""
        return self._ensure_signer(TSA_LABEL, pin, at, self.issue_tsa_cert)

    def _ensure_signer(self, label: str, pin: str, at: datetime,
                       issue: Callable[[CertificatePublicKeyTypes, datetime], x509.Certificate],
                       ) -> SoftwareSigner:
        token = SoftwareToken(self.directory)
        if token.key_path(label).exists():
            signer = token.unlock(label, pin)
            if signer.certificate.not_valid_after_utc - _RENEW_BEFORE > at:
                return signer
        key = new_key()
        token.store(label, key, [issue(key.public_key(), at), *self.chain], pin)
        return token.unlock(label, pin)


def _ca_cert(subject: x509.Name, issuer: x509.Name, public_key: CertificatePublicKeyTypes,
             signing_key: CertificateIssuerPrivateKeyTypes, at: datetime, days: int,
             path_length: int, serial: int | None) -> x509.Certificate:
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(serial if serial is not None else x509.random_serial_number())
        .not_valid_before(at - timedelta(hours=1))
        .not_valid_after(at + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(_usage(ca=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )
    return _sign(builder, signing_key)


@dataclass(frozen=True)
class CaSeed:
    """Keys, serials and lifetimes for a new CA; random keys and serials unless given."""

    root_key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | None = None
    issuing_key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | None = None
    root_serial: int | None = None
    issuing_serial: int | None = None
    root_days: int = 3650
    issuing_days: int = 1825


def create_dev_ca(pki_dir: Path, instance: str, pin: str, at: datetime, *,
                  ocsp_url: str | None = DEFAULT_OCSP_URL, seed: CaSeed | None = None) -> DevCa:
    """Create root and issuing CA in `pki_dir`, which must not hold a CA or an index yet.

    A second CA over an old index would inherit its records (and serial collisions).
    """
    for path in (SoftwareToken(pki_dir).key_path(ISSUING_LABEL), pki_dir / INDEX_FILE):
        if path.exists():
            raise FileExistsError(f"{path} exists: {pki_dir} already holds a CA")
    seed = seed or CaSeed()
    root_key = seed.root_key or new_key()
    issuing_key = seed.issuing_key or new_key()
    root_name = _name(f"{instance} Dev Root CA", instance)
    root = _ca_cert(root_name, root_name, root_key.public_key(), root_key, at, seed.root_days,
                    1, seed.root_serial)
    issuing = _ca_cert(_name(f"{instance} Dev Issuing CA", instance), root_name,
                       issuing_key.public_key(), root_key, at, seed.issuing_days, 0,
                       seed.issuing_serial)
    token = SoftwareToken(pki_dir)
    token.store(ROOT_LABEL, root_key, [root], pin)
    token.store(ISSUING_LABEL, issuing_key, [issuing, root], pin)
    (pki_dir / CHAIN_FILE).write_bytes(
        b"".join(c.public_bytes(serialization.Encoding.PEM) for c in (root, issuing)))
    return DevCa(root, issuing, issuing_key, pki_dir, ocsp_url)


def load_dev_ca(pki_dir: Path, pin: str, *, ocsp_url: str | None = DEFAULT_OCSP_URL) -> DevCa:
    """Unlock the existing dev CA; `TokenLocked` if there is none or the PIN is wrong."""
    signer = SoftwareToken(pki_dir).unlock(ISSUING_LABEL, pin)
    issuing, root = signer.chain
    key = signer.private_key
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise TypeError("the issuing CA key must be EC or RSA")
    return DevCa(root, issuing, key, pki_dir, ocsp_url)


def ensure_dev_ca(pki_dir: Path, instance: str, pin: str, at: datetime, *,
                  ocsp_url: str | None = DEFAULT_OCSP_URL) -> DevCa:
    """Load the dev CA from `pki_dir`, creating root and issuing CA on first use.

    Certificates it issues point to `ocsp_url` (AIA); None leaves the extension out.
    """
    if not SoftwareToken(pki_dir).key_path(ISSUING_LABEL).exists():
        create_dev_ca(pki_dir, instance, pin, at, ocsp_url=ocsp_url)
    return load_dev_ca(pki_dir, pin, ocsp_url=ocsp_url)
