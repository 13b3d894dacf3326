"""Small secrets sealed at rest with a key derived from the token PIN (scrypt + AES-256-GCM).

Used for the security server's encryption seed, which is raw key material rather than a
PKCS#8 key with a certificate.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from keys.token import TokenLocked

_N, _R, _P = 2**15, 8, 1


def _key(pin: str, salt: bytes) -> bytes:
    return Scrypt(salt=salt, length=32, n=_N, r=_R, p=_P).derive(pin.encode())


def seal(path: Path, secret: bytes, pin: str) -> None:
    salt, nonce = os.urandom(16), os.urandom(12)
    sealed = AESGCM(_key(pin, salt)).encrypt(nonce, secret, path.name.encode())
    doc = {"kdf": "scrypt", "n": _N, "r": _R, "p": _P, "cipher": "AES-256-GCM",
           "salt": base64.b64encode(salt).decode(), "nonce": base64.b64encode(nonce).decode(),
           "sealed": base64.b64encode(sealed).decode()}
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.write_text(json.dumps(doc, indent=1))
    path.chmod(0o600)


def unseal(path: Path, pin: str) -> bytes:
    try:
        doc = json.loads(path.read_text())
        salt, nonce = base64.b64decode(doc["salt"]), base64.b64decode(doc["nonce"])
        return AESGCM(_key(pin, salt)).decrypt(nonce, base64.b64decode(doc["sealed"]),
                                               path.name.encode())
    except FileNotFoundError as e:
        raise TokenLocked(f"no sealed secret {path.name}") from e
    except (InvalidTag, KeyError, ValueError) as e:
        raise TokenLocked(f"cannot unseal {path.name}: wrong PIN or damaged file") from e
