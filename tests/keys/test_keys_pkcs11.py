"""PKCS#11 signing against a real SoftHSM2 token: signatures made in the device verify here."""

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import pkcs11
import pytest

from keys.csr import import_certificate, request_certificate
from keys.devpki import DevCa
from keys.pkcs11_token import Pkcs11Signer, Pkcs11Token
from keys.profiles import KeyAlgorithm, KeyPurpose, TokenError
from keys.token import TokenLocked
from xroad.errors import CertificateError, InvalidSignature
from xroad.identifiers import ClientId, SecurityServerId
from xroad.messages.multipart import Part
from xroad.signing.message import (
    Direction,
    UnsafeNoRevocationCheck,
    sign_message,
    verify_message,
)
from xroad.signing.signer import SignatureAlgorithm, verify_signature

MEMBER = ClientId("MN", "GOV", "GASR")
DATA = b"<message>exact bytes</message>"


def _certified(device: Pkcs11Token, ca: DevCa, at: datetime, label: str,
               algorithm: KeyAlgorithm) -> Pkcs11Signer:
    """Generate in the device, request, issue, import: the operator's flow, end to end."""
    device.generate(label, KeyPurpose.signing(MEMBER), algorithm)
    csr = request_certificate(device, label)
    cert = ca.issue_signing_cert(MEMBER, csr.public_key(), at)
    import_certificate(device, label, [cert, *ca.chain])
    return device.signer(label)


@pytest.mark.parametrize(("algorithm", "expected"), [
    ("rsa", SignatureAlgorithm.RSA_SHA512), ("ec", SignatureAlgorithm.ECDSA_SHA512)])
def test_signature_made_in_device_verifies_and_tamper_fails(
        device: Pkcs11Token, ca: DevCa, at: datetime, label: str, algorithm: KeyAlgorithm,
        expected: SignatureAlgorithm) -> None:
    signer = _certified(device, ca, at, label, algorithm)
    assert signer.algorithm is expected
    signature = signer.sign(DATA)
    verify_signature(signer.certificate, signer.algorithm, signature, DATA)
    tampered = bytes([DATA[0] ^ 1]) + DATA[1:]
    with pytest.raises(InvalidSignature):
        verify_signature(signer.certificate, signer.algorithm, signature, tampered)
    bad_signature = signature[:-1] + bytes([signature[-1] ^ 1])
    with pytest.raises(InvalidSignature):
        verify_signature(signer.certificate, signer.algorithm, bad_signature, DATA)


def test_rsa_with_digest_computed_outside_the_device(
        softhsm, device: Pkcs11Token, ca: DevCa, at: datetime, label: str) -> None:
    """Devices without CKM_SHA512_RSA_PKCS get a DigestInfo signed with CKM_RSA_PKCS."""
    signer = _certified(device, ca, at, label, "rsa")
    with Pkcs11Token.open(softhsm.module, softhsm.token_label, softhsm.pin,
                          hash_in_device=False) as software_hash:
        signature = software_hash.signer(label).sign(DATA)
    verify_signature(signer.certificate, signer.algorithm, signature, DATA)
    assert signature == signer.sign(DATA)  # PKCS#1 v1.5 is deterministic: the same bytes


def test_message_signed_by_device_passes_the_verifier(
        device: Pkcs11Token, ca: DevCa, at: datetime, label: str) -> None:
    signer = _certified(device, ca, at, label, "ec")
    parts = [Part("text/xml", DATA)]
    signature = sign_message(parts, direction=Direction.REQUEST, request_id="r-1",
                             message_id="m-1", client=str(MEMBER),
                             service="MN/GOV/CIVIL/registry/getPerson", signer=signer,
                             chain=signer.chain, at=at, ocsp=None)
    verified = verify_message([*parts, signature], direction=Direction.REQUEST,
                              request_id="r-1", expected_signer=str(MEMBER),
                              approved_cas=[ca.root], at=at,
                              revocation=UnsafeNoRevocationCheck())
    assert verified.signer == str(MEMBER)
    with pytest.raises(InvalidSignature):
        verify_message([Part("text/xml", DATA + b" "), signature], direction=Direction.REQUEST,
                       request_id="r-1", expected_signer=str(MEMBER), approved_cas=[ca.root],
                       at=at, revocation=UnsafeNoRevocationCheck())


def test_one_signer_shared_by_threads(device: Pkcs11Token, ca: DevCa, at: datetime,
                                      label: str) -> None:
    signer = _certified(device, ca, at, label, "ec")
    messages = [f"message {i}".encode() for i in range(64)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        signatures = list(pool.map(signer.sign, messages))
    for message, signature in zip(messages, signatures, strict=True):
        verify_signature(signer.certificate, signer.algorithm, signature, message)


def test_listing_shows_purpose_and_chain_and_key_stays_in_device(
        device: Pkcs11Token, ca: DevCa, at: datetime, label: str) -> None:
    signer = _certified(device, ca, at, label, "ec")
    entry = next(e for e in device.entries() if e.label == label)
    assert entry.purpose == KeyPurpose.signing(MEMBER)
    assert entry.chain == (signer.certificate, ca.issuing, ca.root)
    key = device.key(label)
    assert device.key(key_id=key.key_id).label == label
    raw = pkcs11.lib(device.module).get_token(token_label=device.token_label)
    with raw.open() as session:  # the process is logged in while `device` is open
        private = session.get_key(pkcs11.ObjectClass.PRIVATE_KEY, label=label)
        assert private[pkcs11.Attribute.SENSITIVE]
        assert not private[pkcs11.Attribute.EXTRACTABLE]


def test_wrong_pin_is_refused_without_echoing_it(softhsm) -> None:
    with pytest.raises(TokenLocked, match="wrong PIN") as caught:
        Pkcs11Token.open(softhsm.module, softhsm.token_label, "9876")
    assert "9876" not in str(caught.value)
    assert softhsm.pin not in str(caught.value)


def test_missing_module_token_and_key_are_clear_errors(device: Pkcs11Token) -> None:
    with pytest.raises(TokenError, match="cannot load PKCS#11 module"):
        Pkcs11Token.open("/nonexistent/libpkcs11.so", "test", "1234")
    with pytest.raises(TokenError, match="no token labelled 'nope'"):
        Pkcs11Token.open(device.module, "nope", "1234")
    with pytest.raises(TokenError, match="no key 'absent'"):
        device.key("absent")


def test_device_refuses_auth_keys_duplicates_and_weak_rsa(device: Pkcs11Token,
                                                          label: str) -> None:
    server = SecurityServerId.parse("MN/GOV/GASR/ss1")
    with pytest.raises(TokenError, match="software token"):
        device.generate(label, KeyPurpose.authentication(server))
    with pytest.raises(TokenError, match="at least 2048"):
        device.generate(label, KeyPurpose.signing(MEMBER), "rsa", rsa_bits=1024)
    device.generate(label, KeyPurpose.signing(MEMBER))
    with pytest.raises(TokenError, match="already has a key"):
        device.generate(label, KeyPurpose.signing(MEMBER))
    with pytest.raises(TokenError, match="no certificate yet"):
        device.signer(label)


def test_import_of_another_keys_certificate_is_refused(
        device: Pkcs11Token, ca: DevCa, at: datetime, label: str) -> None:
    device.generate(label, KeyPurpose.signing(MEMBER))
    device.generate(f"{label}-other", KeyPurpose.signing(MEMBER))
    other = request_certificate(device, f"{label}-other")
    cert = ca.issue_signing_cert(MEMBER, other.public_key(), at)
    with pytest.raises(CertificateError, match="public key differs"):
        import_certificate(device, label, [cert, *ca.chain])
    assert device.entry(label).chain == ()


def test_reimport_replaces_the_stored_chain(device: Pkcs11Token, ca: DevCa, at: datetime,
                                            label: str) -> None:
    signer = _certified(device, ca, at, label, "ec")
    renewed = ca.issue_signing_cert(MEMBER, signer.certificate.public_key(), at, days=30)
    with pytest.raises(CertificateError, match="not part of the chain"):
        import_certificate(device, label, [ca.root, renewed])  # the issuing CA is missing
    assert device.entry(label).chain[0] == signer.certificate
    import_certificate(device, label, [ca.root, renewed, ca.issuing])  # any order
    assert device.entry(label).chain == (renewed, ca.issuing, ca.root)
    import_certificate(device, label, [renewed])  # the CA chain may come from elsewhere
    assert device.entry(label).chain == (renewed,)
