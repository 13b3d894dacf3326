"""A security server finds its members' signing keys in a PKCS#11 token (SoftHSM2)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from keys.csr import import_certificate, request_certificate
from keys.devpki import DevCa
from keys.pkcs11_token import Pkcs11Token
from keys.profiles import KeyPurpose
from keys.token import TokenLocked
from xroad.identifiers import ClientId
from xroad.messages.multipart import Part
from xroad.proxy.runner import hsm_signers
from xroad.settings import SecurityServerSettings
from xroad.signing.message import (
    Direction,
    UnsafeNoRevocationCheck,
    sign_message,
    verify_message,
)

MEMBER = ClientId("MN", "GOV", "MTA")


def _settings(tmp_path: Path, **hsm: object) -> SecurityServerSettings:
    return SecurityServerSettings(server_id="MN/GOV/MTA/ss1", data_dir=tmp_path,
                                  anchor_path=tmp_path / "anchor.json", token_pin="x", **hsm)


def test_signing_keys_in_the_hsm_are_used_by_member(softhsm, device: Pkcs11Token, ca: DevCa,
                                                     at: datetime, label: str,
                                                     tmp_path: Path) -> None:
    device.generate(label, KeyPurpose.signing(MEMBER), "ec")
    cert = ca.issue_signing_cert(MEMBER, request_certificate(device, label).public_key(), at)
    import_certificate(device, label, [cert, *ca.chain])

    signers, token = hsm_signers(_settings(
        tmp_path, pkcs11_module=softhsm.module, pkcs11_token_label=softhsm.token_label,
        pkcs11_pin=softhsm.pin))
    assert token is not None
    try:
        signer = signers[MEMBER]
        assert signer.certificate == cert
        parts = [Part("text/xml", b"<getTaxStatus/>")]
        signature = sign_message(parts, direction=Direction.RESPONSE, request_id="r",
                                 message_id="m", client="MN/GOV/EMONGOLIA/portal",
                                 service="MN/GOV/MTA/tax-registry/getTaxStatus", signer=signer,
                                 chain=signer.chain, at=at, ocsp=None)
        verified = verify_message([*parts, signature], direction=Direction.RESPONSE,
                                  request_id="r", expected_signer=str(MEMBER),
                                  approved_cas=[ca.root], at=at,
                                  revocation=UnsafeNoRevocationCheck())
        assert verified.signer == str(MEMBER)
    finally:
        token.close()


def test_no_hsm_configured_means_nohsm_signers(tmp_path: Path) -> None:
    assert hsm_signers(_settings(tmp_path)) == ({}, None)


def test_hsm_module_without_label_or_pin_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TokenLocked, match="XROAD_SS_PKCS11_TOKEN_LABEL"):
        hsm_signers(_settings(tmp_path, pkcs11_module=Path("/usr/lib/softhsm/libsofthsm2.so")))
