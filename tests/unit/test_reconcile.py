"""Cross-checking the consumer's and the provider's records of the same exchanges."""

from datetime import UTC, datetime, timedelta

from audit.reconcile import reconcile

T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
PORTAL, CIVIL = "MN/GOV/EMONGOLIA/portal", "MN/GOV/GASR/civil-registry/persons"


def _doc(request_id, kind, minute, side, **changes):
    skew = timedelta(milliseconds=5 if side == "provider" else 0)
    return {"request_id": request_id, "kind": kind, "message_id": f"m-{request_id}",
            "client": PORTAL, "service": CIVIL, "user_id": "officer", "issue": "claim",
            "represented_party": None, "message_digest": f"d-{request_id}-{kind}",
            "signature_digest": f"s-{request_id}-{kind}", "signer_cert_sha256": "c",
            "outcome": "ok", "at": (T0 + timedelta(minutes=minute) + skew).isoformat(),
            **changes}


def _log(side, exchanges, **changes_by_key):
    records, index = [], 0
    for request_id, minute in exchanges:
        for kind in ("request", "response"):
            changes = changes_by_key.get(f"{request_id}/{kind}", {})
            if changes is None:
                continue
            records.append((index, _doc(request_id, kind, minute, side, **changes)))
            index += 1
    return records


EXCHANGES = [("r1", 0), ("r2", 1), ("r3", 2)]


def test_two_faithful_logs_agree():
    assert reconcile(_log("consumer", EXCHANGES), _log("provider", EXCHANGES)) == []


def test_a_record_missing_on_one_side_is_named():
    found = reconcile(_log("consumer", EXCHANGES),
                      _log("provider", EXCHANGES, **{"r2/response": None}))
    assert [(d.kind, d.request_id, d.record_kind, d.first_index) for d in found] == [
        ("only-in-first", "r2", "response", 3)]
    assert "only in the first log (record 3)" in str(found[0])


def test_a_whole_exchange_missing_inside_the_other_logs_time_is_named():
    provider = [r for r in _log("provider", EXCHANGES) if r[1]["request_id"] != "r2"]
    found = reconcile(_log("consumer", EXCHANGES), provider)
    assert {(d.kind, d.record_kind) for d in found} == {("only-in-first", "request"),
                                                         ("only-in-first", "response")}


def test_differing_digests_and_outcomes_are_named():
    found = reconcile(
        _log("consumer", EXCHANGES),
        _log("provider", EXCHANGES, **{"r1/request": {"message_digest": "forged"},
                                       "r3/response": {"outcome": "Server.ServerProxy.X"}}))
    assert [(d.request_id, d.record_kind, d.fields) for d in found] == [
        ("r1", "request", ("message_digest",)), ("r3", "response", ("outcome",))]


def test_faults_recorded_differently_by_each_side_agree_when_both_failed():
    failed = {"r2/response": {"outcome": "Server.ServerProxy.AccessDenied",
                              "message_digest": None, "signature_digest": None}}
    provider = _log("provider", EXCHANGES, **{"r2/response": {
        "outcome": "Server.ServerProxy.AccessDenied", "message_digest": "request-digest",
        "signature_digest": None}})
    assert reconcile(_log("consumer", EXCHANGES, **failed), provider) == []


def test_exchanges_with_other_partners_or_outside_the_other_log_are_not_expected():
    consumer = _log("consumer", [*EXCHANGES, ("early", -60), ("late", 60)])
    consumer.append((99, _doc("tax", "request", 1, "consumer", service="MN/GOV/MTA/tax/x")))
    assert reconcile(consumer, _log("provider", EXCHANGES)) == []
    assert reconcile([], _log("provider", EXCHANGES)) == []


def test_a_request_the_provider_refused_is_recorded_by_the_consumer_alone():
    denied = {"r2/response": {"outcome": "Server.ServerProxy.AccessDenied"}}
    provider = _log("provider", EXCHANGES, **{"r2/request": None, **denied})
    assert reconcile(_log("consumer", EXCHANGES, **denied), provider) == []
    unexplained = _log("provider", EXCHANGES, **{"r2/request": None})
    assert [(d.request_id, d.record_kind) for d in reconcile(
        _log("consumer", EXCHANGES), unexplained)] == [("r2", "request")]
