"""What a security server keeps in its data directory and token: file names and key labels
(no dependencies, so commands that only need the names start fast)."""

from __future__ import annotations

from typing import Final

from xroad.identifiers import ClientId

AUTH_KEY_LABEL: Final = "auth"
SERVERCONF_FILE: Final = "serverconf.toml"
AUDIT_LOG_SEED_FILE: Final = "audit-log.seed"
AUDIT_LOG_PUBLIC_KEY_FILE: Final = "audit-log.pub"
AUDIT_SUBJECT_SEED_FILE: Final = "audit-subject.seed"  # keys the citizen view's subject hashes
AUDIT_BODY_SEED_FILE: Final = "audit-body.seed"  # members' keys for bodies kept in the audit log
SIGN_KEY_PREFIX: Final = "sign-"


def signing_label(member: ClientId) -> str:
    return SIGN_KEY_PREFIX + str(member).replace("/", "_")
