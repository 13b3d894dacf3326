"""Who uses the console: roles and the signed-in user (pure; `web.py` re-exports them)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final


class Role(StrEnum):
    ADMINISTRATOR = "administrator"
    REGISTRATION_OFFICER = "registration-officer"
    AUDITOR = "auditor"
    SECURITY_SERVER_OPERATOR = "security-server-operator"
    CITIZEN = "citizen"


@dataclass(frozen=True)
class ConsoleUser:
    username: str
    role: Role
    register_number: str | None = None  # a citizen's own; None for every other role


# The staff of the instance (everyone but citizens).
STAFF: Final = (Role.ADMINISTRATOR, Role.REGISTRATION_OFFICER, Role.AUDITOR,
                Role.SECURITY_SERVER_OPERATOR)
# Who reads the central registry (each with the central admin API key of their own role).
REGISTRY_READERS: Final = (Role.ADMINISTRATOR, Role.REGISTRATION_OFFICER, Role.AUDITOR)
# Who decides registration requests.
DECIDERS: Final = (Role.ADMINISTRATOR, Role.REGISTRATION_OFFICER)
