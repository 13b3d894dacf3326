"""A citizen's profile, composed from the four registries' answers through the bus.

The four calls run concurrently, each bounded by its own timeout, so one slow registry costs
the page at most that timeout. A registry that fails, refuses or is slow leaves its section
empty (`None`) with a message saying which registry and why; the other sections are shown.
Only two outcomes stop the whole profile: a malformed register number (nothing is asked)
and a person the civil registry does not know (a profile of nobody would be misleading).

How an answer is read (`read_answer`) is pure, so every failure form is tested without a bus.
"""

import asyncio
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final
from urllib.parse import quote

import structlog

from adapters.portal.bus import (
    Bus,
    BusReply,
    BusRequest,
    BusTimeout,
    BusUnreachable,
    new_message_id,
)
from adapters.portal.settings import PortalSettings, Registry
from adapters.toolkit.errors import InvalidRequest
from adapters.toolkit.register_number import birth_date_of

_log: Final = structlog.get_logger(__name__)
_MAX_USER_ID: Final = 255


class Outcome(StrEnum):
    """How one registry's part of the profile ended; the values are the JSON `status`."""

    OK = "ok"
    TIMEOUT = "timeout"  # no complete answer within the registry's timeout
    REFUSED = "refused"  # the bus answered with an X-Road fault (X-Road-Error)
    FAILED = "failed"  # the registry answered with an error status
    UNREADABLE = "unreadable"  # the registry answered something the portal cannot read
    UNREACHABLE = "unreachable"  # the portal's own security server did not answer


@dataclass(frozen=True, slots=True)
class RegistryView:
    """How the portal asks one registry and where its answer goes in the profile."""

    section: str  # the profile's JSON key
    name_en: str
    name_mn: str
    by_path: bool  # True: `.../{registerNumber}`, False: `...?owner={registerNumber}`
    extract: Callable[[Any], Any]  # the section's data from the registry's JSON answer


def _object(doc: Any) -> dict[str, Any]:
    if not isinstance(doc, dict):
        raise TypeError("expected a JSON object")
    return doc


def _list_of_objects(key: str) -> Callable[[Any], list[dict[str, Any]]]:
    def extract(doc: Any) -> list[dict[str, Any]]:
        items = _object(doc).get(key)
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise TypeError(f"expected a list of objects in {key!r}")
        return items
    return extract


VIEWS: Final[Mapping[Registry, RegistryView]] = {
    Registry.CIVIL: RegistryView("person", "civil registry", "Иргэний бүртгэл", True, _object),
    Registry.LAND: RegistryView("parcels", "land registry", "Газрын бүртгэл", False,
                                _list_of_objects("parcels")),
    Registry.VEHICLE: RegistryView("vehicles", "vehicle registry",
                                   "Тээврийн хэрэгслийн бүртгэл", False,
                                   _list_of_objects("vehicles")),
    Registry.TAX: RegistryView("tax", "tax registry", "Татварын бүртгэл", True, _object),
}


@dataclass(frozen=True, slots=True)
class Failure:
    """Why a section is empty, for people: English for the API, Mongolian for the page."""

    outcome: Outcome
    message: str
    message_mn: str
    fault_code: str | None = None


@dataclass(frozen=True, slots=True)
class RegistryAnswer:
    """One registry's part: its data or why there is none, and the ids auditors search by."""

    registry: Registry
    message_id: str
    request_id: str | None
    data: Any = None
    failure: Failure | None = None
    status: int | None = None  # the HTTP status the bus answered, if it answered

    @property
    def outcome(self) -> Outcome:
        return Outcome.OK if self.failure is None else self.failure.outcome


@dataclass(frozen=True, slots=True)
class Profile:
    """A citizen's profile: one answer per registry, in the order of `Registry`."""

    register_number: str
    purpose: str
    answers: Mapping[Registry, RegistryAnswer] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return all(a.failure is None for a in self.answers.values())

    def section(self, registry: Registry) -> Any:
        return self.answers[registry].data

    def to_json(self) -> dict[str, Any]:
        """The API's answer: sections, per-registry status and messages, and the ids."""
        doc: dict[str, Any] = {"register_number": self.register_number}
        for registry, answer in self.answers.items():
            doc[VIEWS[registry].section] = answer.data
        doc |= {
            "complete": self.complete,
            "status": {r.value: a.outcome.value for r, a in self.answers.items()},
            "errors": {r.value: a.failure.message for r, a in self.answers.items()
                       if a.failure is not None},
            "request_ids": {r.value: a.request_id for r, a in self.answers.items()},
            "message_ids": {r.value: a.message_id for r, a in self.answers.items()},
            "purpose": self.purpose,
        }
        return doc


class PersonNotFound(Exception):
    """The civil registry does not know the register number; the profile carries the ids
    of the queries made, which auditors will find all the same."""

    def __init__(self, profile: Profile, message: str) -> None:
        super().__init__(message)
        self.profile = profile


def _error_text(body: bytes) -> str:
    """`type: message` of a JSON error body (the bus's and the registries' form), else ''."""
    try:
        doc = json.loads(body)
    except ValueError:
        return ""
    if not isinstance(doc, dict):
        return ""
    parts = [str(doc[k]) for k in ("type", "message") if isinstance(doc.get(k), str | int)]
    return ": ".join(parts)[:300]


def _fault(registry: Registry, reply: BusReply) -> Failure:
    view, code = VIEWS[registry], reply.fault_code or ""
    detail = _error_text(reply.body)
    text = detail if detail.startswith(code) else f"{code}: {detail}" if detail else code
    if code.startswith(("Client.", "Server.ClientProxy.")):  # stopped before the registry
        return Failure(Outcome.REFUSED,
                       f"The bus did not forward the request to the {view.name_en}: {text}",
                       f"Хүсэлтийг дамжуулсангүй: {code}", code)
    return Failure(Outcome.REFUSED, f"The {view.name_en} refused: {text}",
                   f"Бүртгэл хүсэлтийг татгалзлаа: {code}", code)


def read_answer(registry: Registry, reply: BusReply) -> tuple[Any, Failure | None]:
    """The section's data from `reply`, or why there is none (pure)."""
    view = VIEWS[registry]
    if reply.fault_code:
        return None, _fault(registry, reply)
    if not 200 <= reply.status < 300:
        detail = _error_text(reply.body)
        return None, Failure(
            Outcome.FAILED,
            f"The {view.name_en} answered with an error (HTTP {reply.status})"
            + (f": {detail}" if detail else ""),
            f"Бүртгэл алдаа буцаалаа (HTTP {reply.status}).")
    try:
        return view.extract(json.loads(reply.body)), None
    except (ValueError, TypeError):
        return None, Failure(Outcome.UNREADABLE,
                             f"The {view.name_en} sent an answer the portal cannot read",
                             "Бүртгэлийн хариуг уншиж чадсангүй.")


def _request(registry: Registry, settings: PortalSettings, register_number: str,
             message_id: str, user_id: str | None) -> BusRequest:
    by_path = VIEWS[registry].by_path
    return BusRequest(
        service=settings.service(registry),
        path="/" + quote(register_number, safe="") if by_path else "",
        query=None if by_path else {"owner": register_number},
        message_id=message_id, purpose=settings.purpose, user_id=user_id)


async def ask(bus: Bus, registry: Registry, settings: PortalSettings, register_number: str,
              user_id: str | None = None) -> RegistryAnswer:
    """One registry's answer through the bus; never raises for the registry's or the bus's
    failures: those become the answer's `failure`."""
    message_id, timeout_s = new_message_id(), settings.timeout(registry)
    name = VIEWS[registry].name_en
    try:
        reply = await bus.get(_request(registry, settings, register_number, message_id,
                                       user_id), timeout_s)
    except BusTimeout:
        answer = RegistryAnswer(registry, message_id, None, failure=Failure(
            Outcome.TIMEOUT, f"The {name} did not answer within {timeout_s:g} s",
            f"{timeout_s:g} секундын дотор хариу ирсэнгүй."))
    except BusUnreachable as e:
        answer = RegistryAnswer(registry, message_id, None, failure=Failure(
            Outcome.UNREACHABLE, f"The portal could not ask the {name}: its {e}",
            "Портал аюулгүй байдлын сервертэйгээ холбогдож чадсангүй."))
    else:
        data, failure = read_answer(registry, reply)
        answer = RegistryAnswer(registry, message_id, reply.request_id, data, failure,
                                reply.status)
    if answer.failure is not None:
        _log.warning("portal.registry_failed", registry=registry.value, message_id=message_id,
                     request_id=answer.request_id, outcome=answer.outcome.value,
                     reason=answer.failure.message)
    return answer


def checked_user_id(user_id: str | None) -> str | None:
    """The signed-in citizen's id (`X-Road-UserId`, set by the sign-in proxy in front of the
    portal), checked before it goes into a header and two audit logs."""
    if user_id is None or not user_id.strip():
        return None
    if len(user_id) > _MAX_USER_ID or not (user_id.isascii() and user_id.isprintable()):
        raise InvalidRequest(f"X-Road-UserId must be printable ASCII of at most {_MAX_USER_ID} "
                             "characters")
    return user_id.strip()


def _person_unknown(answer: RegistryAnswer) -> bool:
    """The civil registry itself (not the bus) said 404: there is no such person."""
    return (answer.failure is not None and answer.failure.outcome is Outcome.FAILED
            and answer.status == 404)


async def compose_profile(bus: Bus, settings: PortalSettings, register_number: str,
                          user_id: str | None = None) -> Profile:
    """The profile of `register_number`, asking the four registries concurrently.

    Raises `InvalidRegisterNumber` before asking anything, and `PersonNotFound` when the civil
    registry does not know the person.
    """
    birth_date_of(register_number)  # validates the format and the encoded birth date
    answers = await asyncio.gather(*(ask(bus, registry, settings, register_number, user_id)
                                     for registry in Registry))
    profile = Profile(register_number, settings.purpose, {a.registry: a for a in answers})
    if _person_unknown(profile.answers[Registry.CIVIL]):
        raise PersonNotFound(profile, f"The civil registry knows no person with register "
                                      f"number {register_number}")
    return profile
