"""Global configuration <-> bytes, and the signed document that carries it (pure).

The signed document is JSON: `{"format", "content", "signature_algorithm", "signature",
"verification_cert_sha256"}`; `content` is base64 of the exact configuration bytes that were
signed, so the signature is checked over the bytes received, never over a re-encoding.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from xroad.clock import require_aware
from xroad.encryption import RecipientKey, Suite
from xroad.errors import InvalidMessage, OutdatedGlobalConf, VerificationError
from xroad.globalconf.anchor import ConfigurationAnchor
from xroad.globalconf.model import GlobalConf, GlobalGroup, MemberInfo, SecurityServerInfo
from xroad.identifiers import ClientId, GlobalGroupId, SecurityServerId, is_identifier_part
from xroad.messages import untrusted_json as uj
from xroad.signing.signer import Signer, verify_signature

FORMAT: Final = "xroad-bus-globalconf/1"
MAX_SIGNED_BYTES: Final = 16 * 1024 * 1024


def _der(cert: x509.Certificate) -> str:
    return base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()


# Generation and expiry time and the version are not content: `fingerprint` leaves them out.
_NOT_CONTENT: Final = ("version", "generated_at", "expires_at")


def encode(conf: GlobalConf) -> bytes:
    return _canonical(_document(conf))


def fingerprint(conf: GlobalConf) -> str:
    """Hex SHA-256 of the content alone: equal for two generations that only differ in time.

    The central server starts a new version exactly when this changes.
    """
    doc = _document(conf)
    for key in _NOT_CONTENT:
        del doc[key]
    return hashlib.sha256(_canonical(doc)).hexdigest()


def _canonical(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def _document(conf: GlobalConf) -> dict[str, Any]:
    doc = {
        "instance": conf.instance,
        "version": conf.version,
        "generated_at": conf.generated_at.isoformat(),
        "expires_at": conf.expires_at.isoformat(),
        "member_classes": list(conf.member_classes),
        "ocsp_freshness_seconds": conf.ocsp_freshness_s,
        "approved_cas": [_der(c) for c in conf.approved_cas],
        "members": [
            {"id": str(m.id), "name": m.name, "subsystems": list(m.subsystems)}
            for m in conf.members
        ],
        "security_servers": [
            {"id": str(s.id), "address": s.address,
             "auth_cert_hashes": sorted(s.auth_cert_hashes),
             "clients": sorted(str(c) for c in s.clients),
             "encryption_keys": [{"suite": int(k.suite),
                                  "public_key": base64.b64encode(k.public_bytes).decode()}
                                 for k in s.encryption_keys]}
            for s in conf.security_servers
        ],
        "encryption_suite": int(conf.encryption_suite),
        "ocsp_responders": [{"ca_cert_sha256": ca, "url": url} for ca, url in conf.ocsp_responders],
        "tsa_urls": list(conf.tsa_urls),
        "global_groups": [
            {"id": str(g.id), "description": g.description,
             "members": sorted(str(m) for m in g.members)}
            for g in conf.global_groups
        ],
        "verification_certs": [_der(c) for c in conf.verification_certs],
    }
    if conf.federated_anchors:  # absent: none (a configuration from before federation keeps
        # its fingerprint, so upgrading the central server starts no new version)
        doc["federated_anchors"] = [
            {"instance": a.instance, "download_url": a.download_url,
             "verification_certs": [_der(c) for c in a.verification_certs]}
            for a in sorted(conf.federated_anchors, key=lambda a: a.instance)]
    return doc


def _s(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError("expected a string")
    return value


def decode(data: bytes) -> GlobalConf:
    try:
        doc: dict[str, Any] = uj.obj(uj.loads(data))
        return GlobalConf(
            instance=uj.text(doc, "instance"),
            version=uj.integer(doc, "version"),
            generated_at=require_aware(datetime.fromisoformat(uj.text(doc, "generated_at"))),
            expires_at=require_aware(datetime.fromisoformat(uj.text(doc, "expires_at"))),
            member_classes=tuple(doc["member_classes"]),
            ocsp_freshness_s=uj.integer(doc, "ocsp_freshness_seconds"),
            approved_cas=tuple(x509.load_der_x509_certificate(base64.b64decode(c))
                               for c in doc["approved_cas"]),
            members=tuple(MemberInfo(ClientId.parse(_s(m["id"])), _s(m["name"]),
                                     tuple(_s(x) for x in m["subsystems"]))
                          for m in doc["members"]),
            security_servers=tuple(
                SecurityServerInfo(
                    id=SecurityServerId.parse(_s(s["id"])),
                    address=_s(s["address"]),
                    auth_cert_hashes=frozenset(_s(h) for h in s["auth_cert_hashes"]),
                    clients=frozenset(ClientId.parse(_s(c)) for c in s["clients"]),
                    encryption_keys=tuple(
                        RecipientKey(Suite(k["suite"]), base64.b64decode(k["public_key"]))
                        for k in s.get("encryption_keys", [])),
                )
                for s in doc["security_servers"]
            ),
            encryption_suite=Suite(doc.get("encryption_suite", Suite.X25519_AES256GCM)),
            ocsp_responders=tuple((_s(o["ca_cert_sha256"]), _s(o["url"]))
                                  for o in doc.get("ocsp_responders", [])),
            tsa_urls=tuple(_s(u) for u in doc.get("tsa_urls", [])),
            global_groups=tuple(
                GlobalGroup(GlobalGroupId.parse(_s(g["id"])), _s(g["description"]),
                            frozenset(ClientId.parse(_s(m)) for m in g["members"]))
                for g in doc.get("global_groups", [])
            ),
            verification_certs=tuple(x509.load_der_x509_certificate(base64.b64decode(c))
                                     for c in doc.get("verification_certs", [])),
            federated_anchors=_anchors(doc.get("federated_anchors", []), _s(doc["instance"])),
        )
    except (KeyError, TypeError, ValueError, binascii.Error, InvalidMessage,
            x509.InvalidVersion, RecursionError) as e:
        raise OutdatedGlobalConf(f"global configuration is malformed: {e}") from e


def _anchors(entries: list[Any], own: str) -> tuple[ConfigurationAnchor, ...]:
    """Trusted anchors of other instances: each names a valid instance code once, never the
    configuration's own, and has at least one verification certificate."""
    anchors: list[ConfigurationAnchor] = []
    for entry in entries:
        instance = _s(entry["instance"])
        if not is_identifier_part(instance) or instance == own:
            raise ValueError(f"federated anchor for instance {instance!r} is not acceptable")
        if instance in {a.instance for a in anchors}:
            raise ValueError(f"two federated anchors for instance {instance!r}")
        certs = tuple(x509.load_der_x509_certificate(base64.b64decode(_s(c)))
                      for c in entry["verification_certs"])
        if not certs:
            raise ValueError(f"federated anchor for {instance!r} has no verification certificate")
        anchors.append(ConfigurationAnchor(instance, _s(entry["download_url"]), certs))
    return tuple(anchors)


def sign(content: bytes, signer: Signer) -> bytes:
    doc = {
        "format": FORMAT,
        "content": base64.b64encode(content).decode(),
        "signature_algorithm": str(signer.algorithm),
        "signature": base64.b64encode(signer.sign(content)).decode(),
        "verification_cert_sha256": cert_sha256(signer.certificate),
    }
    return json.dumps(doc, indent=1).encode()


@dataclass(frozen=True, slots=True)
class SignedConf:
    """A configuration whose signature verified, with the exact bytes and the key that signed."""

    conf: GlobalConf
    content: bytes
    signer: x509.Certificate


def verify(signed: bytes, instance: str, anchors: list[x509.Certificate]
           ) -> tuple[GlobalConf, bytes]:
    """Check the signature against the configuration anchor; return the conf and its bytes.

    Expiry is not checked here: a server keeps an expired copy to say *why* it refuses.
    """
    verified = verify_signed(signed, instance, anchors)
    return verified.conf, verified.content


def verify_signed(signed: bytes, instance: str, trusted: Sequence[x509.Certificate]
                  ) -> SignedConf:
    """Check the signature with one of the `trusted` certificates (the anchor's, or ones a
    trusted configuration announced) and that the configuration is for `instance`."""
    if len(signed) > MAX_SIGNED_BYTES:
        raise OutdatedGlobalConf("signed global configuration is too large")
    try:
        doc = uj.obj(uj.loads(signed))
        if doc["format"] != FORMAT:
            raise OutdatedGlobalConf(f"unsupported global configuration format {doc['format']!r}")
        content = base64.b64decode(doc["content"], validate=True)
        signature = base64.b64decode(doc["signature"], validate=True)
        algorithm, cert_hash = str(doc["signature_algorithm"]), str(doc["verification_cert_sha256"])
    except (KeyError, TypeError, ValueError, binascii.Error) as e:
        raise OutdatedGlobalConf(f"signed global configuration is malformed: {e}") from e
    signer = next((c for c in trusted if cert_sha256(c) == cert_hash), None)
    if signer is None:
        raise OutdatedGlobalConf("global configuration is signed by a key not in the anchor "
                                 "and not announced by a trusted configuration")
    try:
        verify_signature(signer, algorithm, signature, content)
    except VerificationError as e:
        raise OutdatedGlobalConf("global configuration signature is invalid") from e
    conf = decode(content)
    if conf.instance != instance:
        raise OutdatedGlobalConf(f"global configuration is for instance {conf.instance!r}")
    return SignedConf(conf, content, signer)


def cert_sha256(cert: x509.Certificate) -> str:
    """Hex SHA-256 of the DER certificate: how signed documents name their verification key."""
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()
