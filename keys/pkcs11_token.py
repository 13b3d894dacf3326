"""PKCS#11 token (HSM, smartcard, SoftHSM2): keys are generated, used and kept in the device.

Choices, and why:

- Every key handed out (`Pkcs11Token.key`, `.signer`) has its own session and a lock:
  PKCS#11 sessions are not thread-safe, and separate sessions let two keys sign in parallel.
- The certificate chain is stored in the device as CKO_CERTIFICATE objects carrying the key's
  CKA_ID, and the key's purpose as a CKO_DATA object, so the device alone is what an operator
  backs up or moves; nothing on disk has to stay in step with it.
- The PIN logs the process in once and is not kept. Login state belongs to the process, not
  to a session (PKCS#11 v2.40 §5.6): a second `open` while this process is already logged in
  cannot re-check a PIN and is accepted, as the process has already proved it.
- Signing uses CKM_SHA512_RSA_PKCS / CKM_ECDSA_SHA512 when the device offers them. Otherwise
  SHA-512 is computed here and the device signs the digest (CKM_RSA_PKCS over a DigestInfo, or
  CKM_ECDSA); SoftHSM2 2.6 lacks CKM_ECDSA_SHA512. ECDSA's raw r||s is re-encoded as DER, the
  form `xroad.signing.signer.verify_signature` and X-Road's Java verifiers expect.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import pkcs11
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from pkcs11 import Attribute, KeyType, Mechanism, MechanismFlag, ObjectClass
from pkcs11.util.ec import encode_ec_public_key, encode_named_curve_parameters
from pkcs11.util.x509 import decode_x509_certificate

from keys.profiles import (
    MIN_RSA_BITS,
    KeyAlgorithm,
    KeyEntry,
    KeyPurpose,
    KeyUsage,
    TokenError,
    check_label,
    leaf_first,
)
from keys.token import TokenLocked
from xroad.signing.signer import SignatureAlgorithm, algorithm_for

__all__ = ["Pkcs11Key", "Pkcs11Signer", "Pkcs11Token"]

_PURPOSE_APPLICATION = "xroad-bus key purpose"
# DER DigestInfo header for SHA-512 (RFC 8017 §9.2 note 1), for devices without SHA512_RSA_PKCS.
_SHA512_DIGEST_INFO = bytes.fromhex("3051300d060960864801650304020305000440")
_BAD_PIN = (pkcs11.PinIncorrect, pkcs11.PinInvalid, pkcs11.PinLenRange)


class Pkcs11Key:
    """A private key inside the device: `sign` runs there, in this key's own session."""

    def __init__(self, session: pkcs11.Session, key: pkcs11.SignMixin, label: str,
                 key_id: bytes, public_key: PublicKeyTypes, *, hash_in_device: bool) -> None:
        self._session = session
        self._key = key
        self._lock = threading.Lock()
        self._hash_in_device = hash_in_device
        self.label = label
        self.key_id = key_id
        self.public_key = public_key

    def __repr__(self) -> str:
        return f"Pkcs11Key(label={self.label!r}, id={self.key_id.hex()})"

    @property
    def algorithm(self) -> SignatureAlgorithm:
        return algorithm_for(self.public_key)

    def sign(self, data: bytes) -> bytes:
        """Sign `data` per `algorithm` (SHA-512 with RSA PKCS#1 v1.5, or DER-encoded ECDSA)."""
        with self._lock:
            try:
                if isinstance(self.public_key, rsa.RSAPublicKey):
                    return self._sign_rsa(data)
                if isinstance(self.public_key, ec.EllipticCurvePublicKey):
                    return self._sign_ec(data, self.public_key.curve.key_size)
            except pkcs11.PKCS11Error as e:
                raise TokenError(
                    f"the device refused to sign with key {self.label!r}: {type(e).__name__}"
                ) from e
        raise TokenError(f"key {self.label!r} is neither RSA nor EC")

    def _sign_rsa(self, data: bytes) -> bytes:
        if self._hash_in_device:
            return self._key.sign(data, mechanism=Mechanism.SHA512_RSA_PKCS)
        digest_info = _SHA512_DIGEST_INFO + hashlib.sha512(data).digest()
        return self._key.sign(digest_info, mechanism=Mechanism.RSA_PKCS)

    def _sign_ec(self, data: bytes, order_bits: int) -> bytes:
        if self._hash_in_device:
            raw = self._key.sign(data, mechanism=Mechanism.ECDSA_SHA512)
        else:
            digest = hashlib.sha512(data).digest()
            if order_bits % 8 == 0:  # ECDSA uses the leftmost order-size bits; some HSMs insist
                digest = digest[: order_bits // 8]
            raw = self._key.sign(digest, mechanism=Mechanism.ECDSA)
        half = len(raw) // 2
        return encode_dss_signature(int.from_bytes(raw[:half]), int.from_bytes(raw[half:]))

    def close(self) -> None:
        with self._lock:
            self._session.close()


class Pkcs11Signer:
    """A `Signer`: a device key with the certificate chain stored for it."""

    def __init__(self, key: Pkcs11Key, chain: tuple[x509.Certificate, ...]) -> None:
        if not chain or chain[0].public_key() != key.public_key:
            raise TokenError(f"key {key.label!r} has no certificate yet; import one first")
        self._key = key
        self._chain = chain

    def __repr__(self) -> str:
        return f"Pkcs11Signer({self._key!r}, subject={self.certificate.subject.rfc4514_string()!r})"

    @property
    def label(self) -> str:
        return self._key.label

    @property
    def certificate(self) -> x509.Certificate:
        return self._chain[0]

    @property
    def chain(self) -> tuple[x509.Certificate, ...]:
        return self._chain

    @property
    def algorithm(self) -> SignatureAlgorithm:
        return self._key.algorithm

    def sign(self, data: bytes) -> bytes:
        return self._key.sign(data)


def _public_key(obj: pkcs11.Object) -> PublicKeyTypes:
    if obj[Attribute.KEY_TYPE] == KeyType.RSA:
        return rsa.RSAPublicNumbers(int.from_bytes(obj[Attribute.PUBLIC_EXPONENT]),
                                    int.from_bytes(obj[Attribute.MODULUS])).public_key()
    if obj[Attribute.KEY_TYPE] == KeyType.EC:
        return serialization.load_der_public_key(encode_ec_public_key(obj))  # type: ignore[arg-type]
    raise TokenError(f"unsupported key type {obj[Attribute.KEY_TYPE]!r}")


class Pkcs11Token:
    """One logged-in token of a PKCS#11 module; close it (or use `with`) to log out."""

    def __init__(self, module: str, token: pkcs11.Token, session: pkcs11.Session,
                 *, hash_in_device: bool | None) -> None:
        self.module = module
        self.token_label = token.label
        self._token = token
        self._session = session  # management: listing, generation, certificate import
        self._lock = threading.Lock()
        self._keys: list[Pkcs11Key] = []
        mechanisms = token.slot.get_mechanisms()
        self._combined = {
            KeyType.RSA: Mechanism.SHA512_RSA_PKCS in mechanisms,
            KeyType.EC: Mechanism.ECDSA_SHA512 in mechanisms,
        } if hash_in_device is None else dict.fromkeys((KeyType.RSA, KeyType.EC), hash_in_device)

    @classmethod
    def open(cls, module: str | Path, token_label: str, pin: str, *,
             hash_in_device: bool | None = None) -> Pkcs11Token:
        """Load `module`, find the token, log in. `hash_in_device` None: use what it offers."""
        try:
            lib = pkcs11.lib(str(module))
        except pkcs11.PKCS11Error as e:  # the loader reports the OS error text, no secrets
            raise TokenError(f"cannot load PKCS#11 module {module}: {e}") from e
        try:
            token = lib.get_token(token_label=token_label)
        except pkcs11.NoSuchToken as e:
            raise TokenError(f"no token labelled {token_label!r} in {module}") from e
        except pkcs11.MultipleTokensReturned as e:
            raise TokenError(f"several tokens labelled {token_label!r} in {module}") from e
        try:
            session = token.open(rw=True, user_pin=pin)
        except pkcs11.UserAlreadyLoggedIn:
            session = token.open(rw=True)
        except _BAD_PIN as e:
            raise TokenLocked(f"cannot log in to token {token_label!r}: wrong PIN") from e
        except pkcs11.PinLocked as e:
            raise TokenLocked(f"token {token_label!r}: the user PIN is locked") from e
        except pkcs11.PKCS11Error as e:
            raise TokenError(f"cannot open token {token_label!r}: {type(e).__name__}") from e
        return cls(str(module), token, session, hash_in_device=hash_in_device)

    def __repr__(self) -> str:
        return f"Pkcs11Token(module={self.module!r}, token_label={self.token_label!r})"

    def __enter__(self) -> Pkcs11Token:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Close every session opened here; the device logs out with the process's last one."""
        with self._lock:
            for key in self._keys:
                key.close()
            self._keys.clear()
            self._session.close()

    # -- lookups, in the management session (caller holds the lock) ------------------------

    def _private(self, session: pkcs11.Session, label: str | None,
                 key_id: bytes | None) -> pkcs11.Object:
        query: dict[Attribute, Any] = {Attribute.CLASS: ObjectClass.PRIVATE_KEY}
        if label is not None:
            query[Attribute.LABEL] = label
        if key_id is not None:
            query[Attribute.ID] = key_id
        found = list(session.get_objects(query))
        name = repr(label) if label is not None else f"with id {key_id.hex() if key_id else ''}"
        if not found:
            raise TokenError(f"no key {name} in token {self.token_label!r}")
        if len(found) > 1:
            raise TokenError(f"several keys {name} in token {self.token_label!r}")
        return found[0]

    def _certificates(self, key_id: bytes) -> list[pkcs11.Object]:
        return list(self._session.get_objects({Attribute.CLASS: ObjectClass.CERTIFICATE,
                                               Attribute.ID: key_id}))

    def _entry(self, private: pkcs11.Object) -> KeyEntry:
        key_id: bytes = private[Attribute.ID]
        label: str = private[Attribute.LABEL]
        certs = [x509.load_der_x509_certificate(c[Attribute.VALUE])
                 for c in self._certificates(key_id)]
        publics = list(self._session.get_objects({Attribute.CLASS: ObjectClass.PUBLIC_KEY,
                                                  Attribute.ID: key_id}))
        if publics:
            public_key = _public_key(publics[0])
        elif certs:  # some devices keep only the private key and the certificate
            public_key = certs[0].public_key()
        else:
            raise TokenError(f"key {label!r} has neither a public key nor a certificate")
        purposes = list(self._session.get_objects({
            Attribute.CLASS: ObjectClass.DATA, Attribute.APPLICATION: _PURPOSE_APPLICATION,
            Attribute.LABEL: key_id.hex()}))
        purpose = KeyPurpose.decode(purposes[0][Attribute.VALUE]) if purposes else None
        return KeyEntry(label, public_key, purpose, leaf_first(public_key, certs))

    # -- management --------------------------------------------------------------------------

    def entries(self) -> list[KeyEntry]:
        """RSA and EC private keys in the token, by label; other key types are not ours to use."""
        with self._lock:
            try:
                privates = list(self._session.get_objects({
                    Attribute.CLASS: ObjectClass.PRIVATE_KEY}))
                entries = [self._entry(p) for p in privates
                           if p[Attribute.KEY_TYPE] in (KeyType.RSA, KeyType.EC)]
            except pkcs11.PKCS11Error as e:
                raise TokenError(f"cannot list keys: {type(e).__name__}") from e
        return sorted(entries, key=lambda e: e.label)

    def entry(self, label: str) -> KeyEntry:
        with self._lock:
            try:
                return self._entry(self._private(self._session, label, None))
            except pkcs11.PKCS11Error as e:
                raise TokenError(f"cannot read key {label!r}: {type(e).__name__}") from e

    def generate(self, label: str, purpose: KeyPurpose, algorithm: KeyAlgorithm = "ec",
                 rsa_bits: int = MIN_RSA_BITS) -> KeyEntry:
        """Generate a non-extractable signing key pair in the device and record its purpose.

        Authentication keys are refused: the TLS stack needs the key in-process, so X-Road and
        this bus keep them on the software token.
        """
        check_label(label)
        if purpose.usage is not KeyUsage.SIGNING:
            raise TokenError("authentication (TLS) keys live on the software token")
        if algorithm == "rsa" and rsa_bits < MIN_RSA_BITS:
            raise TokenError(f"RSA keys need at least {MIN_RSA_BITS} bits")
        key_id = secrets.token_bytes(16)
        with self._lock:
            if list(self._session.get_objects({Attribute.CLASS: ObjectClass.PRIVATE_KEY,
                                               Attribute.LABEL: label})):
                raise TokenError(f"token {self.token_label!r} already has a key {label!r}")
            try:
                public, private = self._generate(label, key_id, algorithm, rsa_bits)
            except pkcs11.PKCS11Error as e:
                raise TokenError(
                    f"the device could not generate key {label!r}: {type(e).__name__}") from e
            try:
                self._session.create_object({
                    Attribute.CLASS: ObjectClass.DATA, Attribute.TOKEN: True,
                    Attribute.PRIVATE: False, Attribute.APPLICATION: _PURPOSE_APPLICATION,
                    Attribute.LABEL: key_id.hex(), Attribute.VALUE: purpose.encode()})
                return self._entry(private)
            except pkcs11.PKCS11Error as e:  # no key without its purpose: CSRs would guess
                public.destroy()
                private.destroy()
                raise TokenError(
                    f"the device could not record the purpose of {label!r}: {type(e).__name__}"
                ) from e

    def _generate(self, label: str, key_id: bytes, algorithm: KeyAlgorithm,
                  rsa_bits: int) -> tuple[pkcs11.PublicKey, pkcs11.PrivateKey]:
        private_template = {Attribute.SENSITIVE: True, Attribute.EXTRACTABLE: False}
        capabilities = MechanismFlag.SIGN | MechanismFlag.VERIFY
        if algorithm == "rsa":
            return self._session.generate_keypair(
                KeyType.RSA, rsa_bits, id=key_id, label=label, store=True,
                capabilities=capabilities, private_template=private_template)
        return self._session.generate_keypair(
            KeyType.EC, id=key_id, label=label, store=True, capabilities=capabilities,
            public_template={Attribute.EC_PARAMS: encode_named_curve_parameters("secp256r1")},
            private_template=private_template)

    def store_certificate(self, label: str, chain: Sequence[x509.Certificate]) -> None:
        """Replace the certificates stored for key `label` with `chain` (leaf first)."""
        with self._lock:
            try:
                key_id: bytes = self._private(self._session, label, None)[Attribute.ID]
                for old in self._certificates(key_id):
                    old.destroy()
                for cert in chain:
                    template = decode_x509_certificate(cert.public_bytes(
                        serialization.Encoding.DER))
                    template.update({Attribute.ID: key_id, Attribute.LABEL: label,
                                     Attribute.TOKEN: True, Attribute.PRIVATE: False})
                    self._session.create_object(template)
            except pkcs11.PKCS11Error as e:
                raise TokenError(
                    f"cannot store the certificate of key {label!r}: {type(e).__name__}") from e

    # -- keys for use ------------------------------------------------------------------------

    def key(self, label: str | None = None, *, key_id: bytes | None = None) -> Pkcs11Key:
        """The key found by label and/or CKA_ID, in a session of its own."""
        if label is None and key_id is None:
            raise TypeError("give a label or a key id")
        with self._lock:
            try:
                session = self._token.open()  # already logged in: login state is per process
            except pkcs11.PKCS11Error as e:
                raise TokenError(f"cannot open a session: {type(e).__name__}") from e
            try:
                key = self._open_key(session, label, key_id)
            except BaseException:
                session.close()
                raise
            self._keys.append(key)
            return key

    def _open_key(self, session: pkcs11.Session, label: str | None,
                  key_id: bytes | None) -> Pkcs11Key:
        try:
            found = self._private(session, label, key_id)
            entry = self._entry(found)
            kind = found[Attribute.KEY_TYPE]
        except pkcs11.PKCS11Error as e:
            raise TokenError(f"cannot use key {label!r}: {type(e).__name__}") from e
        if not isinstance(found, pkcs11.SignMixin):
            raise TokenError(f"key {entry.label!r} is not allowed to sign")
        return Pkcs11Key(session, found, entry.label, found[Attribute.ID], entry.public_key,
                         hash_in_device=self._combined.get(kind, False))

    def signer(self, label: str | None = None, *, key_id: bytes | None = None) -> Pkcs11Signer:
        """A `Signer` for a key whose certificate has been imported."""
        key = self.key(label, key_id=key_id)
        try:
            return Pkcs11Signer(key, self.entry(key.label).chain)
        except TokenError:
            with self._lock:
                self._keys.remove(key)
            key.close()
            raise
