"""Global configuration as X-Road's shared parameters document (pure codec, render only).

`shared-params.xml`, version 6 (root `conf` in `http://x-road.eu/xsd/xroad.xsd`, its children
unqualified, as X-Road's schema has no `elementFormDefault`), so X-Road tooling can read who is
in the instance. It is a view: security servers of this bus verify the signed JSON document.

Mapping choices where the two models differ:
- approved CAs are grouped under their self-signed top CA (`topCA` + `intermediateCA`); a CA
  whose top is not approved is a top CA of its own; its name is the top CA's common name;
- a security server's `address` is the host of its server-proxy URL, with `:port` only when
  the port is not X-Road's 5500;
- `authCertHash` is base64 of the SHA-256 (X-Road from v3), converted from our hex;
- time-stamping authorities whose certificate is not known are left out (`cert` is required);
- a server's client that is not a member (or subsystem) listed here cannot be referenced
  (`IDREF`) and is left out.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID
from lxml import etree

from xroad.globalconf.codec import cert_sha256
from xroad.globalconf.model import GlobalConf
from xroad.identifiers import ClientId

XROAD_NS: Final = "http://x-road.eu/xsd/xroad.xsd"
ID_NS: Final = "http://x-road.eu/xsd/identifiers"
# X-Road's profile for subjects C=instance, O=member class, CN=member code (ours, see
# xroad/signing/profile.py).
EJBCA_PROFILE: Final = ("ee.ria.xroad.common.certificateprofile.impl."
                        "EjbcaCertificateProfileInfoProvider")
X_ROAD_SERVER_PORT: Final = 5500


@dataclass(frozen=True, slots=True)
class ApprovedTsa:
    name: str
    url: str
    cert: x509.Certificate


@dataclass(frozen=True, slots=True)
class SharedParamsInput:
    """What the shared parameters need beyond the global configuration itself."""

    central_address: str  # host of the central server (source/address)
    tsas: Sequence[ApprovedTsa] = ()
    member_class_descriptions: Mapping[str, str] | None = None
    certificate_profile_info: str = EJBCA_PROFILE


def render(conf: GlobalConf, extra: SharedParamsInput) -> bytes:
    root = etree.Element(f"{{{XROAD_NS}}}conf", nsmap={"xroad": XROAD_NS, "id": ID_NS})
    _text(root, "instanceIdentifier", conf.instance)
    source = etree.SubElement(root, "source")
    _text(source, "address", extra.central_address)
    for cert in conf.verification_certs:
        _text(source, "internalVerificationCert", _b64(cert))
    _approved_cas(root, conf, extra.certificate_profile_info)
    for tsa in extra.tsas:
        if tsa.url in conf.tsa_urls:
            node = etree.SubElement(root, "approvedTSA")
            _text(node, "name", tsa.name)
            _text(node, "url", tsa.url)
            _text(node, "cert", _b64(tsa.cert))
    ids = _members(root, conf, extra.member_class_descriptions or {})
    _servers(root, conf, ids)
    for group in conf.global_groups:
        node = etree.SubElement(root, "globalGroup")
        _text(node, "groupCode", group.id.group_code)
        _text(node, "description", group.description)
        for member in sorted(group.members, key=str):
            _client_id(node, "groupMember", member)
    settings = etree.SubElement(root, "globalSettings")
    for code in conf.member_classes:
        _member_class(settings, code, extra.member_class_descriptions or {})
    _text(settings, "ocspFreshnessSeconds", str(conf.ocsp_freshness_s))
    data: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8",
                                 pretty_print=True)
    return data


def _approved_cas(root: etree._Element, conf: GlobalConf, profile: str) -> None:
    ocsp: dict[str, list[str]] = {}
    for ca_hash, url in conf.ocsp_responders:
        ocsp.setdefault(ca_hash, []).append(url)
    for top, intermediates in _ca_trees(conf.approved_cas):
        node = etree.SubElement(root, "approvedCA")
        _text(node, "name", _common_name(top))
        _ca_info(node, "topCA", top, ocsp)
        for ca in intermediates:
            _ca_info(node, "intermediateCA", ca, ocsp)
        _text(node, "certificateProfileInfo", profile)


def _ca_trees(cas: Sequence[x509.Certificate]
              ) -> list[tuple[x509.Certificate, list[x509.Certificate]]]:
    """Each approved CA under the topmost approved CA its issuer names lead to."""
    by_subject = {ca.subject: ca for ca in cas}

    def top_of(ca: x509.Certificate) -> x509.Certificate:
        seen = {ca.subject}
        while ca.issuer != ca.subject and ca.issuer in by_subject and ca.issuer not in seen:
            ca = by_subject[ca.issuer]
            seen.add(ca.subject)
        return ca

    trees: dict[x509.Certificate, list[x509.Certificate]] = {}
    for ca in cas:
        top = top_of(ca)
        trees.setdefault(top, [])
        if ca != top:
            trees[top].append(ca)
    return list(trees.items())


def _ca_info(parent: etree._Element, tag: str, ca: x509.Certificate,
             ocsp: Mapping[str, list[str]]) -> None:
    node = etree.SubElement(parent, tag)
    _text(node, "cert", _b64(ca))
    for url in ocsp.get(cert_sha256(ca), []):
        _text(etree.SubElement(node, "ocsp"), "url", url)


def _members(root: etree._Element, conf: GlobalConf,
             descriptions: Mapping[str, str]) -> dict[ClientId, str]:
    """Member and subsystem elements; returns the XML id of each, for `IDREF`s."""
    ids: dict[ClientId, str] = {}
    for member in conf.members:
        node = etree.SubElement(root, "member", id=_next_id(ids, member.id))
        _member_class(node, member.id.member_class, descriptions)
        _text(node, "memberCode", member.id.member_code)
        _text(node, "name", member.name)
        for code in member.subsystems:
            subsystem = ClientId(member.id.instance, member.id.member_class,
                                 member.id.member_code, code)
            sub = etree.SubElement(node, "subsystem", id=_next_id(ids, subsystem))
            _text(sub, "subsystemCode", code)
    return ids


def _servers(root: etree._Element, conf: GlobalConf, ids: Mapping[ClientId, str]) -> None:
    for server in conf.security_servers:
        owner = ids.get(server.id.owner)
        if owner is None:  # IDREF must resolve; the registry never publishes such a server
            continue
        node = etree.SubElement(root, "securityServer")
        _text(node, "owner", owner)
        _text(node, "serverCode", server.id.server_code)
        _text(node, "address", _address(server.address))
        for digest in sorted(server.auth_cert_hashes):
            _text(node, "authCertHash", base64.b64encode(bytes.fromhex(digest)).decode())
        for client in _referenced(server.clients, ids):
            _text(node, "client", client)


def _referenced(clients: Iterable[ClientId], ids: Mapping[ClientId, str]) -> list[str]:
    return sorted(ids[c] for c in clients if c in ids)


def _address(url: str) -> str:
    parts = urlsplit(url if "//" in url else f"//{url}")
    host = parts.hostname or url
    if ":" in host:
        host = f"[{host}]"  # IPv6
    if parts.port in (None, X_ROAD_SERVER_PORT):
        return host
    return f"{host}:{parts.port}"


def _member_class(parent: etree._Element, code: str, descriptions: Mapping[str, str]) -> None:
    node = etree.SubElement(parent, "memberClass")
    _text(node, "code", code)
    _text(node, "description", descriptions.get(code, code))


def _client_id(parent: etree._Element, tag: str, client: ClientId) -> None:
    node = etree.SubElement(parent, tag, {
        f"{{{ID_NS}}}objectType": "MEMBER" if client.subsystem_code is None else "SUBSYSTEM"})
    _text(node, f"{{{ID_NS}}}xRoadInstance", client.instance)
    _text(node, f"{{{ID_NS}}}memberClass", client.member_class)
    _text(node, f"{{{ID_NS}}}memberCode", client.member_code)
    if client.subsystem_code is not None:
        _text(node, f"{{{ID_NS}}}subsystemCode", client.subsystem_code)


def _next_id(ids: dict[ClientId, str], client: ClientId) -> str:
    ids[client] = f"id{len(ids)}"
    return ids[client]


def _text(parent: etree._Element, tag: str, value: str) -> etree._Element:
    node = etree.SubElement(parent, tag)
    node.text = value
    return node


def _common_name(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else cert.subject.rfc4514_string()


def _b64(cert: x509.Certificate) -> str:
    return base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()
