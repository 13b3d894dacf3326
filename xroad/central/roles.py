"""The central server's admin roles and where a data directory keeps each role's API key.

Kept apart from `admin_auth` (which needs the database) so that command-line clients and the
web console name roles and key files without loading the database layer."""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class Role(StrEnum):
    ADMINISTRATOR = "administrator"
    REGISTRATION_OFFICER = "registration-officer"
    AUDITOR = "auditor"


# Where a data directory keeps each role's key (`<data-dir>/central/...`, mode 0600).
KEY_FILE_NAMES: Final = {Role.ADMINISTRATOR: "admin-api-key",
                         Role.REGISTRATION_OFFICER: "officer-api-key",
                         Role.AUDITOR: "auditor-api-key"}
