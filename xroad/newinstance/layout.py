"""Where `xroad init` puts things in the instance directory (names only, no IO)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

from xroad.central.roles import KEY_FILE_NAMES, Role

INSTANCE_FILE: Final = "instance.json"
NEXT_STEPS_FILE: Final = "NEXT-STEPS.txt"


@dataclass(frozen=True, slots=True)
class InstanceLayout:
    """`root/` holds what the operator uses; `central/` and `pki/` what the servers use."""

    root: Path
    instance: str

    @property
    def central(self) -> Path:
        """The central server's data directory (XROAD_CS_DATA_DIR)."""
        return self.root / "central"

    @property
    def central_token(self) -> Path:
        return self.central / "token"

    @property
    def central_db(self) -> Path:
        return self.central / "central.db"

    @property
    def pki(self) -> Path:
        """The dev PKI (XROAD_PKI_DIR): CA keys, OCSP and TSA keys, issued certificates."""
        return self.root / "pki"

    @property
    def secrets(self) -> Path:
        return self.root / "secrets"

    @property
    def pin_file(self) -> Path:
        return self.secrets / "token-pin"

    @property
    def admin_key_file(self) -> Path:
        """Where `xroad member|registration|...` look for the administrator's key."""
        return self.central / KEY_FILE_NAMES[Role.ADMINISTRATOR]

    @property
    def anchor(self) -> Path:
        return self.root / f"anchor-{self.instance}.json"

    @property
    def ca_certs(self) -> Path:
        """Every approved CA certificate, for security servers' first TLS connections."""
        return self.root / "ca-certs.pem"

    @property
    def instance_file(self) -> Path:
        return self.root / INSTANCE_FILE

    @property
    def next_steps(self) -> Path:
        return self.root / NEXT_STEPS_FILE

    @property
    def env_dir(self) -> Path:
        return self.root / "env"

    def env_file(self, component: str) -> Path:
        return self.env_dir / f"{component}.env"

    def start_script(self, component: str) -> Path:
        return self.root / f"start-{component}.sh"
