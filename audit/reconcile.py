"""Cross-checking the consumer's and the provider's records of the same exchanges (pure).

Both security servers record each exchange: the request and the response, linked by the
request id, with digests of the exact bytes and of the signature parts. Comparing the two logs
finds records present on one side only (a lost record, a deleted row in a log whose operator
re-signed it, an exchange that never reached the other side) and records that differ.

Only exchanges the two logs have in common are compared: a (client, provider) pair both logs
have seen, inside the time both logs cover (each log holds other partners' exchanges too).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal

COMPARED: Final = ("message_id", "client", "service", "user_id", "issue", "represented_party",
                   "message_digest", "signature_digest", "signer_cert_sha256", "outcome")
# A fault is recorded by each side as it saw it (codes and digests differ by nature): only
# the identifiers, and whether the exchange succeeded, must agree.
COMPARED_FAULTS: Final = ("message_id", "client", "service")


@dataclass(frozen=True, slots=True)
class Discrepancy:
    kind: Literal["only-in-first", "only-in-second", "differs"]
    request_id: str
    record_kind: str  # request or response
    first_index: int | None
    second_index: int | None
    fields: tuple[str, ...] = ()  # for "differs": which fields

    def __str__(self) -> str:
        where = {"only-in-first": f"only in the first log (record {self.first_index})",
                 "only-in-second": f"only in the second log (record {self.second_index})",
                 "differs": f"differs in {', '.join(self.fields)} (records "
                            f"{self.first_index} and {self.second_index})"}[self.kind]
        return f"request {self.request_id} {self.record_kind}: {where}"


Record = tuple[int, Mapping[str, Any]]  # (index, decoded leaf)


def _provider(service: str) -> str:
    return "/".join(service.split("/")[:4])


def _pairs(records: Iterable[Record]) -> set[tuple[str, str]]:
    return {(doc["client"], _provider(doc["service"])) for _, doc in records}


def _span(records: list[Record]) -> tuple[datetime, datetime] | None:
    times = [datetime.fromisoformat(doc["at"]) for _, doc in records]
    return (min(times), max(times)) if times else None


def _keyed(records: Iterable[Record]) -> dict[tuple[str, str], Record]:
    return {(doc["request_id"], doc["kind"]): (index, doc) for index, doc in records}


def _exchanges(records: Iterable[Record]) -> dict[str, list[Record]]:
    grouped: dict[str, list[Record]] = {}
    for record in records:
        grouped.setdefault(record[1]["request_id"], []).append(record)
    return grouped


def _within(records: list[Record], span: tuple[datetime, datetime]) -> bool:
    return any(span[0] <= datetime.fromisoformat(doc["at"]) <= span[1] for _, doc in records)


def reconcile(first: Iterable[Record], second: Iterable[Record]) -> list[Discrepancy]:
    """Discrepancies between two logs' records of their common exchanges, in time order.

    An exchange either log holds is compared record by record when both hold it; held by one
    only, it is reported when it falls inside the time the other log covers."""
    a, b = list(first), list(second)
    span_a, span_b = _span(a), _span(b)
    if span_a is None or span_b is None:
        return []
    common = _pairs(a) & _pairs(b)
    left, right = _exchanges(a), _exchanges(b)
    found: list[Discrepancy] = []
    for request_id in left.keys() | right.keys():
        mine, theirs = left.get(request_id, []), right.get(request_id, [])
        if not theirs and not (_in_common(mine, common) and _within(mine, span_b)):
            continue
        if not mine and not (_in_common(theirs, common) and _within(theirs, span_a)):
            continue
        found += _compare(_keyed(mine), _keyed(theirs))
    return sorted(found, key=lambda d: _order(d, left, right))


def _in_common(records: list[Record], common: set[tuple[str, str]]) -> bool:
    return any((doc["client"], _provider(doc["service"])) in common for _, doc in records)


def _refused(records: Mapping[tuple[str, str], Record], request_id: str) -> bool:
    response = records.get((request_id, "response"))
    return response is not None and response[1].get("outcome") != "ok"


def _compare(left: Mapping[tuple[str, str], Record], right: Mapping[tuple[str, str], Record]
             ) -> list[Discrepancy]:
    found = []
    for key in sorted(left.keys() | right.keys()):
        request_id, kind = key
        # A provider records a request it refuses (access, signature, replay) only as the
        # fault it answered: the request record exists on the consumer's side alone.
        if kind == "request" and (key not in left or key not in right) and (
                _refused(left, request_id) or _refused(right, request_id)):
            continue
        if key not in right:
            found.append(Discrepancy("only-in-first", request_id, kind, left[key][0], None))
        elif key not in left:
            found.append(Discrepancy("only-in-second", request_id, kind, None, right[key][0]))
        else:
            (i, x), (j, y) = left[key], right[key]
            faulted = x.get("outcome") != "ok" or y.get("outcome") != "ok"
            differing = tuple(f for f in (COMPARED_FAULTS if faulted else COMPARED)
                              if x.get(f) != y.get(f))
            if faulted and (x.get("outcome") == "ok") != (y.get("outcome") == "ok"):
                differing += ("outcome",)
            if differing:
                found.append(Discrepancy("differs", request_id, kind, i, j, differing))
    return found


def _order(d: Discrepancy, left: Mapping[str, list[Record]],
           right: Mapping[str, list[Record]]) -> tuple[str, str, str]:
    records = left.get(d.request_id) or right[d.request_id]
    return (min(doc["at"] for _, doc in records), d.request_id, d.record_kind)
