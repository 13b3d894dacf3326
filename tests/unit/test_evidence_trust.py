"""Evidence bundles: forged or forked checkpoints, time-stamps over other data or from another
CA, and message signatures that do not prove their records."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest
from bundle_factory import (
    KEY_NAME,
    ORIGIN,
    PIN,
    SIZE,
    World,
    default_entries,
    edit_lines,
    edit_record,
    make_world,
    pem,
    problems,
    signed_entry,
    write_test_bundle,
)
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit.evidence import LogKey, encode_vkey, timestamp_response
from audit.merkle import leaf_hash, root
from audit.verifier import verify_bundle
from keys.devpki import ensure_dev_ca
from keys.fixedpki import EPOCH, REVOKED_MEMBER
from keys.tsa_responses import TimeStampAuthority


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return make_world(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def entries(world):
    return default_entries(world)


@pytest.fixture
def bundle(world, entries, tmp_path):
    return write_test_bundle(world, tmp_path / "bundle", entries)


@pytest.fixture
def leaves(entries):
    return [leaf_hash(e.leaf) for e in entries]


def _forked_root() -> bytes:
    return root([leaf_hash(b"a record that was never written")])


# --- the checkpoint and its history -----------------------------------------------------------

def test_a_checkpoint_signed_by_another_key_is_named(world, leaves, bundle):
    other = Ed25519PrivateKey.from_private_bytes(bytes(32))
    (bundle / "checkpoint").write_bytes(world.note(SIZE, root(leaves), other))

    found = problems(verify_bundle(bundle))

    assert found[0] == (f"checkpoint: signature is not valid for log key {KEY_NAME}: "
                        f"checkpoint is not signed by {KEY_NAME}")
    assert found[1].startswith("checkpoint.tsr: does not time-stamp the checkpoint")


def test_an_altered_checkpoint_is_named(bundle):
    note = (bundle / "checkpoint").read_bytes()
    (bundle / "checkpoint").write_bytes(note.replace(f"\n{SIZE}\n".encode(), b"\n8\n"))

    found = problems(verify_bundle(bundle))

    assert found[0] == (f"checkpoint: signature is not valid for log key {KEY_NAME}: "
                        "checkpoint signature does not verify")


def test_a_replaced_log_key_is_caught_by_the_known_checkpoint(world, leaves, entries, tmp_path):
    """A forger who re-signs everything with a key of their own makes a bundle consistent in
    itself; the checkpoint the auditor saved earlier exposes it."""
    saved = world.note(5, root(leaves[:5]))
    forger = World(world.pki, world.responder, world.tsa,
                   Ed25519PrivateKey.from_private_bytes(bytes(32)), world.now)
    bundle = write_test_bundle(forger, tmp_path / "b", entries)
    assert verify_bundle(bundle).ok

    found = problems(verify_bundle(bundle, known_checkpoint=saved))

    assert found == [f"known checkpoint: not signed by the bundle's log key {KEY_NAME} (another "
                     f"log, or the key was replaced): checkpoint is not signed by {KEY_NAME}"]


def test_a_forked_checkpoint_in_the_history_is_named(world, bundle):
    def fork(ls):
        out = []
        for line in ls:
            doc = json.loads(line)
            if doc["size"] == 5:
                doc["note"] = base64.b64encode(world.note(5, _forked_root())).decode()
            out.append(json.dumps(doc).encode() + b"\n")
        return out

    edit_lines(bundle / "proofs" / "consistency.jsonl", fork)

    found = problems(verify_bundle(bundle))

    assert len(found) == 1
    assert found[0].startswith("earlier checkpoint of size 5: forked history: not a prefix of "
                               f"the bundle's checkpoint of size {SIZE}")


@pytest.mark.parametrize("filtered", [False, True], ids=["complete", "filtered"])
def test_a_forked_known_checkpoint_is_named(world, entries, tmp_path, filtered):
    bundle = write_test_bundle(world, tmp_path / "b", entries,
                               select=[0, 7] if filtered else None,
                               filters={"client": "x"} if filtered else None)

    found = problems(verify_bundle(bundle, known_checkpoint=world.note(5, _forked_root())))

    assert found == ["known checkpoint: forked history: the log's tree of size 5 has another "
                     "root than the checkpoint saved earlier"]


@pytest.mark.parametrize(("size", "filtered"), [(5, False), (5, True), (4, False), (SIZE, True)])
def test_an_earlier_checkpoint_is_confirmed(world, entries, leaves, tmp_path, size, filtered):
    bundle = write_test_bundle(world, tmp_path / "b", entries,
                               select=[0, 7] if filtered else None,
                               filters={"client": "x"} if filtered else None)

    report = verify_bundle(bundle, known_checkpoint=world.note(size, root(leaves[:size])))

    assert report.ok, problems(report)
    assert report.known_checkpoint == size


def test_a_known_checkpoint_the_filtered_bundle_cannot_reach_is_named(world, entries, leaves,
                                                                       tmp_path):
    bundle = write_test_bundle(world, tmp_path / "b", entries, select=[0], filters={"c": "x"})

    found = problems(verify_bundle(bundle, known_checkpoint=world.note(4, root(leaves[:4]))))

    assert found == ["known checkpoint: of size 4 cannot be checked: the bundle holds no "
                     "checkpoint of that size and not every record"]


def test_a_bundle_older_than_the_known_checkpoint_is_named(world, leaves, bundle):
    newer = world.note(SIZE + 1, root([*leaves, leaf_hash(b"later")]))

    found = problems(verify_bundle(bundle, known_checkpoint=newer))

    assert found == [f"known checkpoint: covers {SIZE + 1} records, the bundle's checkpoint "
                     f"only {SIZE}: the log was truncated or rolled back"]


def test_a_manifest_that_disagrees_with_the_checkpoint_is_named(bundle):
    manifest = (bundle / "manifest.json").read_text()
    (bundle / "manifest.json").write_text(manifest.replace(f'"checkpoint_size": {SIZE}',
                                                           '"checkpoint_size": 4'))
    found = problems(verify_bundle(bundle))
    assert f"checkpoint: is for '{ORIGIN}' of size {SIZE}, the manifest says '{ORIGIN}' of " \
           "size 4" in found


def test_a_log_key_with_a_wrong_key_id_is_named(world, bundle):
    vkey = encode_vkey(world.log_public_key)
    name, _, key = vkey.split("+", 2)
    (bundle / "certs" / "log-key.pub").write_text(f"{name}+00000000+{key}\n")
    found = problems(verify_bundle(bundle))
    assert found[0] == "certs/log-key.pub: verifier key id does not match its name and key"


def test_a_log_key_under_another_name_is_named(world, bundle):
    other = LogKey("someone-else", world.log_key.public_key())
    (bundle / "certs" / "log-key.pub").write_text(encode_vkey(other) + "\n")
    found = problems(verify_bundle(bundle))
    assert found[0] == f"certs/log-key.pub: names key 'someone-else', the manifest '{KEY_NAME}'"


# --- the time-stamp ---------------------------------------------------------------------------

def test_a_time_stamp_over_other_data_is_named(world, bundle):
    (bundle / "checkpoint.tsr").write_bytes(timestamp_response(world.stamp(b"other data")))

    found = problems(verify_bundle(bundle))

    assert found == ["checkpoint.tsr: does not time-stamp the checkpoint: time-stamp is for "
                     "other data (messageImprint mismatch)"]


def test_a_time_stamp_from_another_ca_is_named(world, bundle, tmp_path):
    foreign = ensure_dev_ca(tmp_path / "foreign", "MN", PIN, EPOCH)
    foreign_tsa = TimeStampAuthority(foreign.ensure_tsa_signer(PIN, world.now))
    note = (bundle / "checkpoint").read_bytes()
    (bundle / "checkpoint.tsr").write_bytes(timestamp_response(world.stamp(note, foreign_tsa)))

    found = problems(verify_bundle(bundle))

    assert len(found) == 1
    assert found[0].startswith("checkpoint.tsr: does not time-stamp the checkpoint: certificate")


def test_a_tsa_chain_swapped_for_another_ca_is_named(world, bundle, tmp_path):
    foreign = ensure_dev_ca(tmp_path / "foreign", "MN", PIN, EPOCH)
    (bundle / "certs" / "tsa-chain.pem").write_bytes(pem(foreign.chain))
    found = problems(verify_bundle(bundle))
    assert len(found) == 1
    assert found[0].startswith("checkpoint.tsr: does not time-stamp the checkpoint: ")


def test_a_refused_time_stamp_response_is_named(bundle):
    from keys.tsa_responses import reject  # noqa: PLC0415

    (bundle / "checkpoint.tsr").write_bytes(reject("bad_alg", "no").der)
    assert problems(verify_bundle(bundle)) == [
        "checkpoint.tsr: the time-stamp response was not granted (status rejection)"]


# --- message signatures -----------------------------------------------------------------------

def _with(entries, index, entry):
    return [*entries[:index], entry, *entries[index + 1:]]


def test_a_tampered_signature_part_is_named(world, entries, tmp_path):
    def alter_manifest(doc):
        manifest = json.loads(base64.b64decode(doc["manifest"]))
        manifest["message_id"] = "msg-forged"
        doc["manifest"] = base64.b64encode(json.dumps(manifest).encode()).decode()

    bundle = write_test_bundle(world, tmp_path / "b", _with(
        entries, 3, signed_entry(world, 3, alter=alter_manifest)))

    assert problems(verify_bundle(bundle)) == [
        "record 3: message signature: signed content does not match the CMS message-digest"]


def test_a_signature_part_that_is_not_the_recorded_one_is_named(bundle):
    def flip(doc):
        signature = bytearray(base64.b64decode(doc["signature"]))
        signature[20] ^= 0x01
        doc["signature"] = base64.b64encode(bytes(signature)).decode()

    edit_record(bundle, 4, flip)

    assert problems(verify_bundle(bundle)) == [
        "record 4: the signature part is not the one the record's signature_digest names"]


def test_a_signature_of_another_exchange_is_named(world, entries, tmp_path):
    entry = signed_entry(world, 2, message_id="msg-other", message_digest="AAAA")
    bundle = write_test_bundle(world, tmp_path / "b", _with(entries, 2, entry))

    assert problems(verify_bundle(bundle)) == [
        "record 2: the signed message_id 'msg-1' differs from the record's 'msg-other'",
        "record 2: the signed message_digest "
        f"{json.loads(entries[2].leaf)['message_digest']!r} differs from the record's 'AAAA'"]


def test_a_wrong_signing_certificate_digest_is_named(world, entries, tmp_path):
    entry = signed_entry(world, 0, signer_cert_sha256="00" * 32)
    bundle = write_test_bundle(world, tmp_path / "b", _with(entries, 0, entry))
    found = problems(verify_bundle(bundle))
    assert len(found) == 1
    assert found[0].startswith("record 0: the signing certificate's SHA-256 ")


def test_a_signature_by_a_revoked_certificate_is_named(world, entries, tmp_path):
    entry = signed_entry(world, 1, member=REVOKED_MEMBER)
    bundle = write_test_bundle(world, tmp_path / "b", _with(entries, 1, entry))
    found = problems(verify_bundle(bundle))
    assert len(found) == 1
    assert found[0].startswith("record 1: message signature: certificate ")
    assert "was revoked" in found[0]


def test_stale_ocsp_evidence_is_named(world, entries, tmp_path):
    def drop_ocsp(doc):
        doc["ocsp"] = None

    bundle = write_test_bundle(world, tmp_path / "b", _with(
        entries, 0, signed_entry(world, 0, alter=drop_ocsp)))
    assert problems(verify_bundle(bundle)) == [
        "record 0: message signature: the signature carries no OCSP response for its "
        "certificate"]


def test_signatures_are_checked_at_their_signing_time(bundle):
    """Years later the certificates have expired; the bundle still verifies."""
    report = verify_bundle(bundle)
    assert report.ok
    assert report.timestamp is not None
    assert report.timestamp < datetime(2035, 1, 1, tzinfo=UTC)
