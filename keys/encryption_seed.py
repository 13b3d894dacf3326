"""A security server's message-encryption keys: one seed, sealed with the token PIN in the
token directory, from which each suite's key pair is derived (ADR 0005). Made on first use,
so a new server needs no extra step; its public keys go to the central server with the
server's registration (`xroad server register`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

from keys import sealed
from xroad.encryption import SEED_SIZE, KeyPair, Suite, keypair_from_seed

ENCRYPTION_SEED_FILE: Final = "encryption.seed"


def encryption_seed(token_dir: Path, pin: str) -> bytes:
    path = token_dir / ENCRYPTION_SEED_FILE
    if not path.exists():
        sealed.seal(path, os.urandom(SEED_SIZE), pin)
    return sealed.unseal(path, pin)


def encryption_keypairs(token_dir: Path, pin: str) -> list[KeyPair]:
    seed = encryption_seed(token_dir, pin)
    return [keypair_from_seed(seed, suite) for suite in Suite]
