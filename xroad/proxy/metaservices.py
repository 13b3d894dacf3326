"""X-Road metaservices: `listClients` (client side, from global configuration), and
`listMethods` / `allowedMethods` (provider side, from serverconf and the access rights), in the
message shapes X-Road uses so that X-Road tooling and catalogues can read them."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from copy import deepcopy
from typing import Any, Final

from lxml import etree

from xroad.access import AccessRight, rights_of
from xroad.globalconf.model import GlobalConf
from xroad.identifiers import ClientId, GlobalGroupId, ObjectType, ServiceId
from xroad.limits import Limits
from xroad.messages.xml import IDENTIFIERS_NS, SOAP_ENV_NS, XROAD_NS, parse_untrusted
from xroad.serverconf import ServerConf, ServiceType

LIST_METHODS: Final = "listMethods"
ALLOWED_METHODS: Final = "allowedMethods"
PROVIDER_METASERVICES: Final = frozenset({LIST_METHODS, ALLOWED_METHODS, "getWsdl",
                                          "getOpenAPI"})
_NSMAP: Final = {"xrd": XROAD_NS, "id": IDENTIFIERS_NS}


def _client_json(client: ClientId) -> dict[str, str]:
    doc = {"xroad_instance": client.instance, "member_class": client.member_class,
           "member_code": client.member_code, "object_type": str(client.object_type)}
    if client.subsystem_code is not None:
        doc["subsystem_code"] = client.subsystem_code
    return doc


def _id_children(parent: etree._Element, fields: list[tuple[str, str | None]]) -> None:
    for name, value in fields:
        if value is not None:
            etree.SubElement(parent, f"{{{IDENTIFIERS_NS}}}{name}").text = value


def _client_xml(parent: etree._Element, tag: str, client: ClientId) -> None:
    el = etree.SubElement(parent, f"{{{XROAD_NS}}}{tag}")
    el.set(f"{{{IDENTIFIERS_NS}}}objectType", str(client.object_type))
    _id_children(el, [("xRoadInstance", client.instance), ("memberClass", client.member_class),
                      ("memberCode", client.member_code),
                      ("subsystemCode", client.subsystem_code)])


def _clients(confs: Sequence[GlobalConf], instance: str | None) -> list[tuple[ClientId, str]]:
    """Members and subsystems of `instance` (or of every instance), each from the
    configuration of its own instance."""
    found: list[tuple[ClientId, str]] = []
    for conf in confs:
        for member in conf.members:
            if member.id.instance != conf.instance or (
                    instance is not None and member.id.instance != instance):
                continue
            found.append((member.id, member.name))
            found += [(ClientId(member.id.instance, member.id.member_class,
                                member.id.member_code, sub), member.name)
                      for sub in member.subsystems]
    return found


def list_clients_json(confs: Sequence[GlobalConf], instance: str | None) -> bytes:
    return json.dumps({"member": [{"id": _client_json(c), "name": name}
                                  for c, name in _clients(confs, instance)]},
                      ensure_ascii=False).encode()


def list_clients_xml(confs: Sequence[GlobalConf], instance: str | None) -> bytes:
    root = etree.Element(f"{{{XROAD_NS}}}clientList", nsmap=_NSMAP)
    for client, name in _clients(confs, instance):
        member = etree.SubElement(root, f"{{{XROAD_NS}}}member")
        _client_xml(member, "id", client)
        etree.SubElement(member, f"{{{XROAD_NS}}}name").text = name
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _visible(conf: ServerConf, provider: ClientId, kind: ServiceType, client: ClientId,
             allowed_only: bool, local: Mapping[str, frozenset[ClientId]],
             global_groups: Mapping[GlobalGroupId, frozenset[ClientId]]
             ) -> list[tuple[ServiceId, list[AccessRight]]]:
    """The provider's services of `kind`; for allowedMethods only those the client may call,
    with the rights (endpoints) that let it."""
    found: list[tuple[ServiceId, list[AccessRight]]] = []
    for desc in conf.services:
        if desc.provider != provider or desc.type is not kind:
            continue
        service = ServiceId(provider, desc.service_code)
        if not allowed_only:
            found.append((service, []))
            continue
        granting = rights_of(client, service, conf.access_rights, local_groups=local,
                             global_groups=global_groups)
        if granting:
            found.append((service, granting))
    return found


def rest_methods(conf: ServerConf, provider: ClientId, client: ClientId, *, allowed_only: bool,
                 local: Mapping[str, frozenset[ClientId]],
                 global_groups: Mapping[GlobalGroupId, frozenset[ClientId]]) -> bytes:
    """JSON as X-Road's REST `listMethods`/`allowedMethods` return it."""
    services: list[dict[str, Any]] = []
    for service, rights in _visible(conf, provider, ServiceType.REST, client, allowed_only,
                                    local, global_groups):
        entry: dict[str, Any] = {**_client_json(provider), "object_type": str(ObjectType.SERVICE),
                                 "service_code": service.service_code, "service_type": "REST"}
        endpoints = [{"method": r.endpoint.method, "path": r.endpoint.path}
                     for r in rights if r.endpoint is not None]
        if allowed_only and any(r.endpoint is None for r in rights):
            endpoints = [{"method": "*", "path": "**"}]
        entry["endpoint_list"] = endpoints
        services.append(entry)
    return json.dumps({"service": services}, ensure_ascii=False).encode()


def soap_methods(request_raw: bytes, limits: Limits, conf: ServerConf, provider: ClientId,
                 client: ClientId, *, allowed_only: bool,
                 local: Mapping[str, frozenset[ClientId]],
                 global_groups: Mapping[GlobalGroupId, frozenset[ClientId]]) -> bytes:
    """A SOAP response echoing the request's headers with `listMethodsResponse` or
    `allowedMethodsResponse` listing the provider's SOAP services."""
    request = parse_untrusted(request_raw, limits)
    envelope = etree.Element(f"{{{SOAP_ENV_NS}}}Envelope",
                             nsmap={"SOAP-ENV": SOAP_ENV_NS, **_NSMAP})
    header = request.find(f"{{{SOAP_ENV_NS}}}Header")
    if header is not None:
        copy = etree.SubElement(envelope, f"{{{SOAP_ENV_NS}}}Header")
        for child in header.iterchildren(etree.Element):
            copy.append(deepcopy(child))
    body = etree.SubElement(envelope, f"{{{SOAP_ENV_NS}}}Body")
    name = ALLOWED_METHODS if allowed_only else LIST_METHODS
    answer = etree.SubElement(body, f"{{{XROAD_NS}}}{name}Response")
    for service, _ in _visible(conf, provider, ServiceType.SOAP, client, allowed_only, local,
                               global_groups):
        el = etree.SubElement(answer, f"{{{XROAD_NS}}}service")
        el.set(f"{{{IDENTIFIERS_NS}}}objectType", str(ObjectType.SERVICE))
        _id_children(el, [("xRoadInstance", provider.instance),
                          ("memberClass", provider.member_class),
                          ("memberCode", provider.member_code),
                          ("subsystemCode", provider.subsystem_code),
                          ("serviceCode", service.service_code)])
    return etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")
