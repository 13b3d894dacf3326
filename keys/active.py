"""The signing key each member uses on this security server, following the software token.

An operator renews a member's signing certificate the X-Road way, on the running server:
`xroad keys generate --kind sign`, a CSR, the CA's certificate, `xroad keys import-cert`.
The server picks the new key up within seconds, without a restart (`reload`, called by the
server's scheduler; a token whose files did not change costs one directory listing).

Which key signs for a member: among the token's keys with a signing certificate naming the
member, the one whose certificate is valid now and was issued last; if none is valid now, the
one issued last (receivers then refuse it, failing closed). A key still waiting for its
certificate is not a signing key yet; authentication keys never are.
Keys held in an HSM (`fixed`) are configured at start and take precedence.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import structlog
from cryptography import x509

from keys.certs import cert_sha256
from keys.token import SoftwareToken
from xroad.clock import Clock
from xroad.errors import XRoadError
from xroad.identifiers import ClientId
from xroad.signing.profile import member_of_signing_cert
from xroad.signing.signer import Signer

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class _Candidate:
    label: str
    member: ClientId
    certificate: x509.Certificate


class ActiveSigningKeys(Mapping[ClientId, Signer]):
    """Member -> the signer in use; re-read from the token when its files change."""

    def __init__(self, token: SoftwareToken, pin: str, clock: Clock,
                 fixed: Mapping[ClientId, Signer] | None = None) -> None:
        self._token = token
        self._pin = pin
        self._clock = clock
        self._fixed = dict(fixed or {})
        self._state: tuple[tuple[str, int, int], ...] | None = None
        self._labels: dict[ClientId, str] = {}
        self._current: dict[ClientId, Signer] = dict(self._fixed)
        self.reload()

    def __getitem__(self, member: ClientId) -> Signer:
        return self._current[member]

    def __iter__(self) -> Iterator[ClientId]:
        return iter(self._current)

    def __len__(self) -> int:
        return len(self._current)

    def _files(self) -> tuple[tuple[str, int, int], ...]:
        found = []
        for path in sorted(self._token.directory.glob("*.pem")):
            try:
                stat = path.stat()
            except FileNotFoundError:  # replaced while listing: the next reload sees it
                continue
            found.append((path.name, stat.st_mtime_ns, stat.st_size))
        return tuple(found)

    def _candidates(self) -> list[_Candidate]:
        found = []
        for label in self._token.labels():
            try:
                chain = self._token.chain_of(label)
            except ValueError as e:
                log.warning("signing_keys.unreadable_certificate", label=label, reason=str(e))
                continue
            if not chain:
                continue  # waiting for its certificate
            try:
                found.append(_Candidate(label, member_of_signing_cert(chain[0]), chain[0]))
            except XRoadError:
                continue  # an authentication certificate: not for signing messages
        return found

    def _choose(self, candidates: list[_Candidate]) -> dict[ClientId, _Candidate]:
        now = self._clock.now()

        def rank(c: _Candidate) -> tuple[bool, float]:
            cert = c.certificate
            valid = cert.not_valid_before_utc <= now <= cert.not_valid_after_utc
            return valid, cert.not_valid_before_utc.timestamp()

        chosen: dict[ClientId, _Candidate] = {}
        for candidate in sorted(candidates, key=rank):
            chosen[candidate.member] = candidate  # the best ranked comes last and stays
        return chosen

    def reload(self) -> bool:
        """Re-read the token if its signing key files changed; True if a key changed.

        A key that cannot be unlocked (e.g. written with another PIN) keeps the member on
        the key it used before, and says so in the log."""
        state = self._files()
        if state == self._state:
            return False
        chosen = self._choose(self._candidates())
        current: dict[ClientId, Signer] = {}
        labels: dict[ClientId, str] = {}
        for member, candidate in chosen.items():
            if self._labels.get(member) == candidate.label and member in self._current \
                    and self._current[member].certificate == candidate.certificate:
                current[member], labels[member] = self._current[member], candidate.label
                continue
            try:
                current[member] = self._token.unlock(candidate.label, self._pin)
                labels[member] = candidate.label
            except (ValueError, XRoadError) as e:
                log.error("signing_keys.unlock_failed", member=str(member),
                          label=candidate.label, reason=str(e))
                if member in self._current and member not in self._fixed:
                    current[member], labels[member] = self._current[member], self._labels[member]
                continue
            log.info("signing_keys.active", member=str(member), label=candidate.label,
                     certificate_sha256=cert_sha256(candidate.certificate))
        current.update(self._fixed)
        changed = current != self._current
        self._current, self._labels, self._state = current, labels, state
        return changed
