"""The instance description a new country starts from (TOML; pure codec)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass

from xroad.errors import InvalidMessage
from xroad.identifiers import ClientId, SecurityServerId


@dataclass(frozen=True, slots=True)
class MemberSeed:
    id: ClientId
    name: str
    subsystems: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ServerSeed:
    id: SecurityServerId
    clients: tuple[ClientId, ...]


@dataclass(frozen=True, slots=True)
class GroupSeed:
    code: str
    description: str
    members: tuple[ClientId, ...]


@dataclass(frozen=True, slots=True)
class InstanceSeed:
    instance: str
    member_classes: tuple[tuple[str, str], ...]
    members: tuple[MemberSeed, ...]
    servers: tuple[ServerSeed, ...]
    global_groups: tuple[GroupSeed, ...] = ()


def parse_seed(text: str) -> InstanceSeed:
    try:
        doc = tomllib.loads(text)
        seed = InstanceSeed(
            instance=doc["instance"],
            member_classes=tuple((c["code"], c.get("description", ""))
                                 for c in doc["member_classes"]),
            members=tuple(MemberSeed(ClientId.parse(m["id"]), m["name"],
                                     tuple(m.get("subsystems", []))) for m in doc["members"]),
            servers=tuple(ServerSeed(SecurityServerId.parse(s["id"]),
                                     tuple(ClientId.parse(c) for c in s["clients"]))
                          for s in doc.get("security_servers", [])),
            global_groups=tuple(GroupSeed(g["code"], g.get("description", ""),
                                          tuple(ClientId.parse(m) for m in g.get("members", [])))
                                for g in doc.get("global_groups", [])),
        )
    except (tomllib.TOMLDecodeError, KeyError, TypeError) as e:
        raise InvalidMessage(f"instance description is malformed: {e}") from e
    classes = {code for code, _ in seed.member_classes}
    for member in seed.members:
        if member.id.instance != seed.instance or member.id.member_class not in classes:
            raise InvalidMessage(f"member {member.id} does not fit instance {seed.instance}")
    return seed
