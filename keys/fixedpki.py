"""A deterministic dev PKI for tests (STYLE 14): fixed keys, serials and dates.

TEST ONLY: the private keys are derived from public labels, so anyone can recompute them.
Keys are EC P-256 from `ec.derive_private_key`; certificates are signed with deterministic
ECDSA (RFC 6979), so every build yields byte-identical certificates. The encrypted key files
differ (random salt), and so do OCSP responses and time-stamp tokens, which are signed at
run time. Leaves are valid for ten years from `EPOCH` so that tests talking to a responder on
the system clock keep working until 2035.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from keys.devpki import (
    DEFAULT_OCSP_URL,
    OCSP_LABEL,
    TSA_LABEL,
    CaSeed,
    DevCa,
    create_dev_ca,
)
from keys.token import SoftwareSigner, SoftwareToken
from xroad.identifiers import ClientId

EPOCH: Final = datetime(2025, 1, 1, tzinfo=UTC)
INSTANCE: Final = "MN"
LEAF_DAYS: Final = 3650
GOOD_MEMBER: Final = ClientId.parse("MN/GOV/GASR")
REVOKED_MEMBER: Final = ClientId.parse("MN/GOV/ALAMGAC")
REVOKED_AT: Final = EPOCH + timedelta(days=30)
# Fixed serials: CAs 0x10xx, PKI services 0x20xx, members 0x30xx.
SERIALS: Final = {"root": 0x1001, "issuing": 0x1002, OCSP_LABEL: 0x2001, TSA_LABEL: 0x2002,
                  str(GOOD_MEMBER): 0x3001, str(REVOKED_MEMBER): 0x3002}
_P256_ORDER: Final = int(
    "FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551", 16)


def fixed_key(label: str) -> ec.EllipticCurvePrivateKey:
    """The P-256 key for `label`: SHA-256 of a public string, reduced into [1, n-1]."""
    seed = hashlib.sha256(f"xroad-bus TEST-ONLY key/{label}".encode()).digest()
    return ec.derive_private_key(int.from_bytes(seed) % (_P256_ORDER - 1) + 1, ec.SECP256R1())


def member_label(member: ClientId) -> str:
    return "sign-" + str(member).replace("/", "_")


@dataclass(frozen=True)
class FixedPki:
    ca: DevCa
    ocsp: SoftwareSigner
    tsa: SoftwareSigner
    members: Mapping[ClientId, SoftwareSigner]  # signing keys, GOOD_MEMBER and REVOKED_MEMBER

    @property
    def anchors(self) -> list[x509.Certificate]:
        return [self.ca.root]


def build_fixed_pki(directory: Path, pin: str, *,
                    ocsp_url: str | None = DEFAULT_OCSP_URL) -> FixedPki:
    """Build the whole PKI in `directory` (a fresh one: serials must not be in its index)."""
    seed = CaSeed(root_key=fixed_key("root"), issuing_key=fixed_key("issuing"),
                  root_serial=SERIALS["root"], issuing_serial=SERIALS["issuing"],
                  root_days=7305, issuing_days=5479)
    ca = create_dev_ca(directory, INSTANCE, pin, EPOCH, ocsp_url=ocsp_url, seed=seed)
    token = SoftwareToken(directory)

    def store(label: str, key: ec.EllipticCurvePrivateKey, cert: x509.Certificate
              ) -> SoftwareSigner:
        token.store(label, key, [cert, *ca.chain], pin)
        return token.unlock(label, pin)

    ocsp_key, tsa_key = fixed_key(OCSP_LABEL), fixed_key(TSA_LABEL)
    ocsp = store(OCSP_LABEL, ocsp_key, ca.issue_ocsp_responder_cert(
        ocsp_key.public_key(), EPOCH, LEAF_DAYS, serial=SERIALS[OCSP_LABEL]))
    tsa = store(TSA_LABEL, tsa_key, ca.issue_tsa_cert(
        tsa_key.public_key(), EPOCH, LEAF_DAYS, serial=SERIALS[TSA_LABEL]))
    members = {}
    for member in (GOOD_MEMBER, REVOKED_MEMBER):
        key = fixed_key(str(member))
        members[member] = store(member_label(member), key, ca.issue_signing_cert(
            member, key.public_key(), EPOCH, LEAF_DAYS, serial=SERIALS[str(member)]))
    ca.revoke(SERIALS[str(REVOKED_MEMBER)], x509.ReasonFlags.key_compromise, REVOKED_AT)
    return FixedPki(ca, ocsp, tsa, members)
