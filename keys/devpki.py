"""A development PKI a new country can use for a test environment: root and issuing CA.

TEST ONLY: the CA keys sit on disk (encrypted with the PIN). A production instance uses the
country's real CA, OCSP responder and time-stamping authority instead (see README).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import (
    CertificateIssuerPrivateKeyTypes,
    CertificatePublicKeyTypes,
)
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from keys.certs import member_subject
from keys.token import SoftwareToken
from xroad.identifiers import ClientId, SecurityServerId

KeyKind = Literal["ec", "rsa"]


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


def _sign(builder: x509.CertificateBuilder, key: CertificateIssuerPrivateKeyTypes
          ) -> x509.Certificate:
    return builder.sign(key, hashes.SHA256())


@dataclass(frozen=True)
class DevCa:
    """The issuing CA of the dev PKI, with the root above it."""

    root: x509.Certificate
    issuing: x509.Certificate
    issuing_key: CertificateIssuerPrivateKeyTypes

    @property
    def chain(self) -> list[x509.Certificate]:
        return [self.issuing, self.root]

    def _leaf(self, subject: x509.Name, public_key: CertificatePublicKeyTypes, at: datetime,
              days: int) -> x509.CertificateBuilder:
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self.issuing.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(at - timedelta(hours=1))
            .not_valid_after(at + timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                self.issuing_key.public_key()), critical=False)
        )

    def issue_signing_cert(self, member: ClientId, public_key: CertificatePublicKeyTypes,
                           at: datetime, days: int = 365) -> x509.Certificate:
        usage = x509.KeyUsage(digital_signature=True, content_commitment=True,
                              key_encipherment=False, data_encipherment=False,
                              key_agreement=False, key_cert_sign=False, crl_sign=False,
                              encipher_only=False, decipher_only=False)
        builder = self._leaf(member_subject(member), public_key, at, days).add_extension(
            usage, critical=True)
        return _sign(builder, self.issuing_key)

    def issue_auth_cert(self, server: SecurityServerId, public_key: CertificatePublicKeyTypes,
                        at: datetime, hosts: tuple[str, ...] = ("127.0.0.1", "localhost"),
                        days: int = 365) -> x509.Certificate:
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
        usage = x509.KeyUsage(digital_signature=True, content_commitment=False,
                              key_encipherment=True, data_encipherment=False,
                              key_agreement=False, key_cert_sign=False, crl_sign=False,
                              encipher_only=False, decipher_only=False)
        builder = (
            self._leaf(subject, public_key, at, days)
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(usage, critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH,
                                                  ExtendedKeyUsageOID.CLIENT_AUTH]),
                           critical=False)
        )
        return _sign(builder, self.issuing_key)

    def issue_conf_signing_cert(self, instance: str, public_key: CertificatePublicKeyTypes,
                                at: datetime, days: int = 3650) -> x509.Certificate:
        builder = self._leaf(_name(f"{instance} central server configuration signing", instance),
                             public_key, at, days)
        return _sign(builder, self.issuing_key)


def _ca_cert(subject: x509.Name, issuer: x509.Name, public_key: CertificatePublicKeyTypes,
             signing_key: CertificateIssuerPrivateKeyTypes, at: datetime, days: int,
             path_length: int) -> x509.Certificate:
    usage = x509.KeyUsage(digital_signature=True, content_commitment=False,
                          key_encipherment=False, data_encipherment=False, key_agreement=False,
                          key_cert_sign=True, crl_sign=True, encipher_only=False,
                          decipher_only=False)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(at - timedelta(hours=1))
        .not_valid_after(at + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(usage, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )
    return _sign(builder, signing_key)


def ensure_dev_ca(pki_dir: Path, instance: str, pin: str, at: datetime) -> DevCa:
    """Load the dev CA from `pki_dir`, creating root and issuing CA on first use."""
    token = SoftwareToken(pki_dir)
    if not token.key_path("issuing-ca").exists():
        root_key = ec.generate_private_key(ec.SECP256R1())
        root_name = _name(f"{instance} Dev Root CA", instance)
        root = _ca_cert(root_name, root_name, root_key.public_key(), root_key, at, 3650, 1)
        issuing_key = ec.generate_private_key(ec.SECP256R1())
        issuing = _ca_cert(_name(f"{instance} Dev Issuing CA", instance), root_name,
                           issuing_key.public_key(), root_key, at, 1825, 0)
        token.store("root-ca", root_key, [root], pin)
        token.store("issuing-ca", issuing_key, [issuing, root], pin)
        (pki_dir / "ca-chain.pem").write_bytes(
            b"".join(c.public_bytes(serialization.Encoding.PEM) for c in (root, issuing)))
    signer = token.unlock("issuing-ca", pin)
    issuing, root = signer.chain
    key = signer.private_key
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise TypeError("the issuing CA key must be EC or RSA")
    return DevCa(root=root, issuing=issuing, issuing_key=key)
