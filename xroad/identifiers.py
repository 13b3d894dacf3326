"""X-Road identifiers as frozen values whose text form round-trips exactly.

Identifiers appear in headers, access rights, logs and audit records, so they are validated
once, on construction, against the strict X-Road character set (PR-MESS §2.7).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Self
from urllib.parse import quote, unquote

from xroad.errors import InvalidClientIdentifier, InvalidMessage, InvalidServiceIdentifier

_PART = re.compile(r"[A-Za-z0-9'()+,\-.=?]+")
_MAX_PART = 255


class ObjectType(StrEnum):
    """Values of the `objectType` attribute in `http://x-road.eu/xsd/identifiers`."""

    MEMBER = "MEMBER"
    SUBSYSTEM = "SUBSYSTEM"
    SERVER = "SERVER"
    GLOBALGROUP = "GLOBALGROUP"
    LOCALGROUP = "LOCALGROUP"
    SERVICE = "SERVICE"


def is_identifier_part(text: str) -> bool:
    """Whether `text` may be one part of an identifier (an instance code, member class, ...)."""
    return len(text) <= _MAX_PART and _PART.fullmatch(text) is not None


def _check_parts(kind: str, parts: tuple[str | None, ...], error: type[InvalidMessage]) -> None:
    for part in parts:
        if part is None:
            continue
        if not is_identifier_part(part):
            raise error(f"invalid {kind} identifier part {part!r}")


@dataclass(frozen=True, slots=True)
class ClientId:
    """A member (`MN/GOV/GASR`) or one of its subsystems (`MN/GOV/GASR/civil-registry`)."""

    instance: str
    member_class: str
    member_code: str
    subsystem_code: str | None = None

    def __post_init__(self) -> None:
        _check_parts("client", self._parts(), InvalidClientIdentifier)

    def _parts(self) -> tuple[str | None, ...]:
        # Not dataclasses.astuple: it deep-copies, and identifiers are formatted per message.
        return (self.instance, self.member_class, self.member_code, self.subsystem_code)

    @classmethod
    def parse(cls, text: str) -> Self:
        parts = text.split("/")
        if len(parts) not in (3, 4):
            raise InvalidClientIdentifier(f"not a client identifier: {text!r}")
        return cls(*parts)

    @property
    def object_type(self) -> ObjectType:
        return ObjectType.SUBSYSTEM if self.subsystem_code else ObjectType.MEMBER

    @property
    def member(self) -> ClientId:
        """The member that owns this client (itself when it is a member)."""
        return ClientId(self.instance, self.member_class, self.member_code)

    def __str__(self) -> str:
        return "/".join(p for p in self._parts() if p is not None)


@dataclass(frozen=True, slots=True)
class ServiceId:
    """A service of a provider: `MN/GOV/GASR/civil-registry/getPerson[/v1]`."""

    provider: ClientId
    service_code: str
    service_version: str | None = None

    def __post_init__(self) -> None:
        _check_parts("service", (self.service_code, self.service_version), InvalidServiceIdentifier)
        if self.provider.subsystem_code is None:
            # X-Road services belong to subsystems; without one, the text form would be
            # ambiguous (MN/GOV/GASR/getPerson/v1 reads as subsystem getPerson, code v1).
            raise InvalidServiceIdentifier(f"service {self.service_code!r} of {self.provider} "
                                           "names no subsystem")

    @classmethod
    def parse(cls, text: str) -> Self:
        """Parse `INSTANCE/CLASS/MEMBER/SUBSYSTEM/CODE[/VERSION]` (the subsystem is required)."""
        parts = text.split("/")
        if len(parts) not in (5, 6):
            raise InvalidServiceIdentifier(f"not a service identifier: {text!r}")
        try:
            provider = ClientId(*parts[:4])
        except InvalidClientIdentifier as e:
            raise InvalidServiceIdentifier(str(e)) from e
        return cls(provider, parts[4], parts[5] if len(parts) == 6 else None)

    def __str__(self) -> str:
        tail = [self.service_code] if self.service_version is None else [
            self.service_code, self.service_version]
        return "/".join([str(self.provider), *tail])


@dataclass(frozen=True, slots=True)
class SecurityServerId:
    """A security server: `MN/GOV/GASR/ss1` (owner member plus server code)."""

    owner: ClientId
    server_code: str

    def __post_init__(self) -> None:
        if self.owner.subsystem_code is not None:
            raise InvalidMessage("a security server is owned by a member, not a subsystem")
        _check_parts("security server", (self.server_code,), InvalidMessage)

    @classmethod
    def parse(cls, text: str) -> Self:
        parts = text.split("/")
        if len(parts) != 4:
            raise InvalidMessage(f"not a security server identifier: {text!r}")
        return cls(ClientId(*parts[:3]), parts[3])

    def __str__(self) -> str:
        return f"{self.owner}/{self.server_code}"


@dataclass(frozen=True, slots=True)
class GlobalGroupId:
    """A group defined on the central server: `MN/tax-auditors` (instance plus group code)."""

    instance: str
    group_code: str

    def __post_init__(self) -> None:
        _check_parts("global group", (self.instance, self.group_code), InvalidMessage)

    @classmethod
    def parse(cls, text: str) -> Self:
        parts = text.split("/")
        if len(parts) != 2:
            raise InvalidMessage(f"not a global group identifier: {text!r}")
        return cls(*parts)

    def __str__(self) -> str:
        return f"{self.instance}/{self.group_code}"


@dataclass(frozen=True, slots=True)
class LocalGroupId:
    """A group defined on one security server: just its code."""

    group_code: str

    def __post_init__(self) -> None:
        _check_parts("local group", (self.group_code,), InvalidMessage)

    def __str__(self) -> str:
        return self.group_code


Subject = ClientId | GlobalGroupId | LocalGroupId


def parse_subject(text: str) -> Subject:
    """`GLOBALGROUP:MN/code`, `LOCALGROUP:code`, or a client identifier (as in X-Road's UI)."""
    kind, sep, rest = text.partition(":")
    if sep and kind == ObjectType.GLOBALGROUP:
        return GlobalGroupId.parse(rest)
    if sep and kind == ObjectType.LOCALGROUP:
        return LocalGroupId(rest)
    if sep and kind in (ObjectType.MEMBER, ObjectType.SUBSYSTEM):
        return ClientId.parse(rest)
    return ClientId.parse(text)


def format_subject(subject: Subject) -> str:
    if isinstance(subject, GlobalGroupId):
        return f"{ObjectType.GLOBALGROUP}:{subject}"
    if isinstance(subject, LocalGroupId):
        return f"{ObjectType.LOCALGROUP}:{subject}"
    return str(subject)


def encode_path_segments(parts: tuple[str | None, ...] | list[str]) -> str:
    """Percent-encode each REST path segment on its own (a `/` inside becomes `%2F`)."""
    return "/".join(quote(p, safe="") for p in parts if p is not None)


def decode_path_segment(segment: str) -> str:
    return unquote(segment, errors="strict")
