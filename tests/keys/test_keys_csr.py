"""CSRs and certificate import: subjects from the profile, signatures, and what import refuses."""

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from keys.csr import (
    CertificateMismatch,
    SoftwareKeyStore,
    import_certificate,
    load_certificates,
    request_certificate,
)
from keys.devpki import DevCa, ensure_dev_ca
from keys.pkcs11_token import Pkcs11Token
from keys.profiles import KeyAlgorithm, KeyPurpose, TokenError, XRoadSubjectProfile, check_label
from keys.token import SoftwareToken, TokenLocked
from xroad.errors import CertificateError, InvalidMessage
from xroad.identifiers import ClientId, SecurityServerId
from xroad.signing.profile import member_of_signing_cert, member_subject

MEMBER = ClientId("MN", "GOV", "GASR")
SERVER = SecurityServerId(MEMBER, "ss1")
PIN = "token-pin"


@pytest.fixture
def store(tmp_path: Path) -> SoftwareKeyStore:
    return SoftwareKeyStore(SoftwareToken(tmp_path / "token"), PIN)


def _der(csr: x509.CertificateSigningRequest) -> x509.CertificateSigningRequest:
    """Round-trip through DER as a CA would receive it."""
    return x509.load_der_x509_csr(csr.public_bytes(serialization.Encoding.DER))


@pytest.mark.parametrize("algorithm", ["ec", "rsa"])
def test_software_signing_csr_has_member_subject(store: SoftwareKeyStore,
                                                 algorithm: KeyAlgorithm) -> None:
    entry = store.generate("sign", KeyPurpose.signing(MEMBER), algorithm)
    csr = _der(request_certificate(store, "sign"))
    assert csr.is_signature_valid
    assert csr.subject == member_subject(MEMBER)
    assert csr.public_key() == entry.public_key


def test_software_auth_csr_has_server_subject(store: SoftwareKeyStore) -> None:
    store.generate("auth", KeyPurpose.authentication(SERVER))
    csr = _der(request_certificate(store, "auth"))
    assert csr.is_signature_valid
    assert csr.subject.rfc4514_string() == "CN=MN/GOV/GASR/ss1,O=GASR,C=MN"


@pytest.mark.parametrize("algorithm", ["ec", "rsa"])
def test_pkcs11_csr_is_signed_in_the_device(device: Pkcs11Token, label: str,
                                            algorithm: KeyAlgorithm) -> None:
    entry = device.generate(label, KeyPurpose.signing(MEMBER), algorithm)
    csr = _der(request_certificate(device, label))
    assert csr.is_signature_valid
    assert csr.subject == member_subject(MEMBER)
    assert csr.public_key() == entry.public_key


@dataclass(frozen=True)
class _CountryProfile:
    """A country whose CA wants the organisation's name in O and the member code in CN."""

    def signing_subject(self, member: ClientId) -> x509.Name:
        return x509.Name([
            x509.NameAttribute(NameOID.COUNTRY_NAME, "MN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "State Registration Authority"),
            x509.NameAttribute(NameOID.COMMON_NAME, member.member_code),
            x509.NameAttribute(NameOID.SERIAL_NUMBER, str(member)),
        ])

    def auth_subject(self, server: SecurityServerId) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ss1.gasr.gov.mn")])


def test_a_country_plugs_its_own_subject_rules(store: SoftwareKeyStore) -> None:
    store.generate("sign", KeyPurpose.signing(MEMBER))
    store.generate("auth", KeyPurpose.authentication(SERVER))
    sign_csr = request_certificate(store, "sign", _CountryProfile())
    assert sign_csr.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == (
        "State Registration Authority")
    auth_csr = request_certificate(store, "auth", _CountryProfile())
    assert auth_csr.subject.rfc4514_string() == "CN=ss1.gasr.gov.mn"
    dev = request_certificate(store, "auth", XRoadSubjectProfile(country="XX"))
    assert dev.subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)[0].value == "XX"


def test_issued_certificate_is_imported_and_unlocks_as_a_signer(
        store: SoftwareKeyStore, ca: DevCa, at: datetime) -> None:
    store.generate("sign", KeyPurpose.signing(MEMBER))
    csr = request_certificate(store, "sign")
    cert = ca.issue_signing_cert(MEMBER, csr.public_key(), at)
    entry = import_certificate(store, "sign", [ca.root, cert, ca.issuing])
    assert entry.chain == (cert, ca.issuing, ca.root)
    signer = store.token.unlock("sign", PIN)
    assert member_of_signing_cert(signer.certificate) == MEMBER


def test_certificate_of_another_key_is_refused(store: SoftwareKeyStore, ca: DevCa,
                                               at: datetime) -> None:
    store.generate("sign", KeyPurpose.signing(MEMBER))
    store.generate("other", KeyPurpose.signing(MEMBER))
    other = request_certificate(store, "other")
    cert = ca.issue_signing_cert(MEMBER, other.public_key(), at)
    with pytest.raises(CertificateMismatch, match="public key differs"):
        import_certificate(store, "sign", [cert, *ca.chain])
    assert store.entry("sign").chain == ()


def test_certificate_naming_another_member_is_refused(store: SoftwareKeyStore, ca: DevCa,
                                                      at: datetime) -> None:
    store.generate("sign", KeyPurpose.signing(MEMBER))
    csr = request_certificate(store, "sign")
    cert = ca.issue_signing_cert(ClientId("MN", "GOV", "POLICE"), csr.public_key(), at)
    with pytest.raises(CertificateMismatch, match="names member MN/GOV/POLICE"):
        import_certificate(store, "sign", [cert])


def test_chain_from_a_foreign_ca_with_the_same_names_is_refused(
        store: SoftwareKeyStore, ca: DevCa, at: datetime, tmp_path: Path) -> None:
    foreign = ensure_dev_ca(tmp_path / "foreign", "MN", "pin", at)
    store.generate("sign", KeyPurpose.signing(MEMBER))
    cert = ca.issue_signing_cert(MEMBER, request_certificate(store, "sign").public_key(), at)
    with pytest.raises(CertificateMismatch, match="not signed by its issuer"):
        import_certificate(store, "sign", [cert, foreign.issuing])


def test_store_refuses_duplicates_bad_labels_weak_rsa_and_a_second_pin(
        store: SoftwareKeyStore) -> None:
    store.generate("sign", KeyPurpose.signing(MEMBER))
    with pytest.raises(TokenError, match="already has a key"):
        store.generate("sign", KeyPurpose.signing(MEMBER))
    with pytest.raises(InvalidMessage, match="invalid key label"):
        store.generate("../escape", KeyPurpose.signing(MEMBER))
    with pytest.raises(TokenError, match="at least 2048"):
        store.generate("weak", KeyPurpose.signing(MEMBER), "rsa", rsa_bits=1024)
    with pytest.raises(TokenLocked):
        SoftwareKeyStore(store.token, "typo").generate("second", KeyPurpose.signing(MEMBER))
    assert "token-pin" not in repr(store)


def test_purpose_must_match_its_owner_kind_and_round_trips() -> None:
    with pytest.raises(InvalidMessage):
        KeyPurpose.signing(ClientId("MN", "GOV", "GASR", "civil"))
    for purpose in (KeyPurpose.signing(MEMBER), KeyPurpose.authentication(SERVER)):
        assert KeyPurpose.decode(purpose.encode()) == purpose
    with pytest.raises(InvalidMessage):
        KeyPurpose.decode(b'{"usage": "sign"}')
    assert check_label("sign-MN_GOV_1.2") == "sign-MN_GOV_1.2"
    for bad in ("", ".hidden", "a/b", "a" * 65):
        with pytest.raises(InvalidMessage):
            check_label(bad)


def test_load_certificates_accepts_pem_bundles_and_der(ca: DevCa) -> None:
    pem = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in ca.chain)
    assert load_certificates(pem) == ca.chain
    assert load_certificates(ca.root.public_bytes(serialization.Encoding.DER)) == [ca.root]
    with pytest.raises(CertificateError):
        load_certificates(b"-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n")
