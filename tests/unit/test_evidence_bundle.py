"""Evidence bundles: written from real signed records, verified offline, and every tampering
with the records or their proofs named with the record index."""

from __future__ import annotations

import base64
import json

import pytest
from bundle_factory import (
    NOT_CARRIED,
    SERVER,
    SIZE,
    UNSIGNED,
    World,
    default_entries,
    edit_lines,
    edit_record,
    flip_leaf_byte,
    lines,
    make_world,
    problems,
    write_test_bundle,
)

from audit.evidence import (
    FORMAT,
    ArchiveRange,
    decode_vkey,
    encode_vkey,
    timestamp_token,
)
from audit.merkle import leaf_hash, root
from audit.verifier import verify_bundle
from audit.verifier_records import RootBuilder


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return make_world(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def entries(world):
    return default_entries(world)


@pytest.fixture
def bundle(world, entries, tmp_path):
    return write_test_bundle(world, tmp_path / "bundle", entries)


def test_an_intact_bundle_verifies(world, entries, bundle):
    report = verify_bundle(bundle)

    assert report.ok, problems(report)
    assert report.records == SIZE
    assert report.checkpoint_size == SIZE
    assert report.root == root([leaf_hash(e.leaf) for e in entries])
    assert report.signatures_checked == SIZE - 2  # UNSIGNED and NOT_CARRIED
    assert report.signatures_absent == 1
    assert report.log_key_name == "MN-GOV-GASR-ss1-audit-log"
    assert report.timestamp is not None
    assert abs((report.timestamp - world.now).total_seconds()) < 2
    assert report.earlier_checkpoints == 3
    assert report.complete
    assert any("MN Dev Root CA" in anchor for anchor in report.trust_anchors)


def test_the_files_are_as_documented(world, entries, bundle):
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert manifest["format"] == FORMAT
    assert manifest["server"] == SERVER
    assert (manifest["checkpoint_size"], manifest["record_count"]) == (SIZE, SIZE)
    assert manifest["complete"] is True
    assert manifest["filters"] == {}

    first = json.loads(lines(bundle / "records.jsonl")[0])
    assert base64.b64decode(first["leaf"]) == entries[0].leaf
    assert first["record"] == entries[0].fields
    assert base64.b64decode(first["signature"]) == entries[0].signature
    assert json.loads(lines(bundle / "records.jsonl")[UNSIGNED])["signature"] is None

    proof = json.loads(lines(bundle / "proofs" / "inclusion.jsonl")[0])
    assert proof["tree_size"] == SIZE
    assert base64.b64decode(proof["leaf_hash"]) == leaf_hash(entries[0].leaf)
    last = json.loads(lines(bundle / "proofs" / "consistency.jsonl")[-1])
    assert (last["size"], last["proof"]) == (SIZE, [])

    vkey = (bundle / "certs" / "log-key.pub").read_text()
    assert vkey.endswith("\n")
    assert decode_vkey(vkey) == world.log_public_key
    assert encode_vkey(world.log_public_key) == vkey.strip()
    assert timestamp_token((bundle / "checkpoint.tsr").read_bytes())


def test_a_filtered_bundle_verifies_without_claiming_completeness(world, entries, tmp_path):
    bundle = write_test_bundle(world, tmp_path / "b", entries, select=[1, 4, 7],
                               filters={"client": "MN/GOV/GASR/civil-registry"})
    report = verify_bundle(bundle)
    assert report.ok, problems(report)
    assert (report.records, report.complete) == (3, False)


def test_an_archive_bundle_holds_exactly_its_range(world, entries, tmp_path):
    archive = ArchiveRange(sequence=1, start=2, end=6, previous_digest="ab" * 32)
    bundle = write_test_bundle(world, tmp_path / "b", entries, select=range(2, 6),
                               archive=archive)
    assert verify_bundle(bundle).ok

    edit_lines(bundle / "records.jsonl", lambda ls: ls[:-1])
    assert "record 5: missing (the bundle ends early)" in problems(verify_bundle(bundle))


def test_a_flipped_byte_in_a_leaf_is_named(bundle):
    edit_record(bundle, 3, flip_leaf_byte)

    found = problems(verify_bundle(bundle))

    assert "record 3: leaf_hash of its inclusion proof is not the hash of the leaf " \
           "(leaf altered)" in found
    assert any(p.startswith("record 3: inclusion proof does not lead to the checkpoint root")
               for p in found)
    assert "records.jsonl: the Merkle root of all 9 leaves is not the checkpoint root" in found


def test_a_record_copy_that_differs_from_its_leaf_is_named(bundle):
    edit_record(bundle, 2, lambda doc: doc["record"].update(outcome="ok, honestly"))

    found = problems(verify_bundle(bundle))

    assert found == ["record 2: the 'record' copy differs from the leaf in 'outcome'"]


def test_a_deleted_record_is_named(bundle):
    edit_lines(bundle / "records.jsonl", lambda ls: ls[:4] + ls[5:])

    found = problems(verify_bundle(bundle))

    assert "record 4: missing" in found
    assert "records.jsonl: holds 8 records, the manifest says 9" in found


def test_a_deleted_record_in_a_filtered_bundle_leaves_its_proof_behind(world, entries, tmp_path):
    bundle = write_test_bundle(world, tmp_path / "b", entries, select=[1, 4, 7],
                               filters={"service": "x"})
    edit_lines(bundle / "records.jsonl", lambda ls: ls[:1] + ls[2:])
    (bundle / "manifest.json").write_text((bundle / "manifest.json").read_text().replace(
        '"record_count": 3', '"record_count": 2'))

    found = problems(verify_bundle(bundle))

    assert found == ["proofs/inclusion.jsonl: the proof for record 4 matches no record line "
                     "(record deleted, or proof repeated)"]


def test_reordered_records_are_named(bundle):
    edit_lines(bundle / "records.jsonl", lambda ls: [*ls[:2], ls[3], ls[2], *ls[4:]])

    found = problems(verify_bundle(bundle))

    assert found == ["record 2: out of order: listed after record 3"]


def test_a_truncated_bundle_is_named(bundle):
    edit_lines(bundle / "records.jsonl", lambda ls: ls[:-2])

    found = problems(verify_bundle(bundle))

    assert f"records {SIZE - 2}..{SIZE - 1}: missing (the bundle ends early)" in found


def test_a_duplicated_record_is_named(bundle):
    edit_lines(bundle / "records.jsonl", lambda ls: [*ls[:2], ls[1], *ls[2:]])

    found = problems(verify_bundle(bundle))

    assert "record 1: appears more than once" in found
    assert "records.jsonl: holds 10 records, the manifest says 9" in found


def test_a_record_past_the_checkpoint_is_named(world, entries, tmp_path):
    bundle = write_test_bundle(world, tmp_path / "b", entries, select=[1, 4],
                               filters={"service": "x"})
    edit_record(bundle, 4, lambda doc: doc.update(index=SIZE + 3))

    found = problems(verify_bundle(bundle))

    assert f"record {SIZE + 3}: index is not below the checkpoint size {SIZE}" in found


def test_a_proof_for_another_position_is_refused(bundle):
    def swap_paths(ls):
        first, second = json.loads(ls[0]), json.loads(ls[1])
        first["audit_path"] = second["audit_path"]
        return [json.dumps(first).encode() + b"\n", *ls[1:]]

    edit_lines(bundle / "proofs" / "inclusion.jsonl", swap_paths)

    found = problems(verify_bundle(bundle))

    assert len(found) == 1
    assert found[0].startswith("record 0: inclusion proof does not lead to the checkpoint root")


def test_a_record_without_proof_is_named(bundle):
    edit_lines(bundle / "proofs" / "inclusion.jsonl", lambda ls: ls[:3] + ls[4:])

    assert problems(verify_bundle(bundle)) == [
        "record 3: has no inclusion proof in proofs/inclusion.jsonl"]


def test_a_record_from_another_server_is_named(world, entries, tmp_path):
    from bundle_factory import Entry, canonical  # noqa: PLC0415

    other = [*entries]
    other[2] = Entry(canonical({**entries[2].fields, "security_server": "MN/GOV/X/ss9"}),
                     entries[2].signature)
    bundle = write_test_bundle(world, tmp_path / "b", other)

    found = problems(verify_bundle(bundle))

    assert "record 2: security_server 'MN/GOV/X/ss9' is not the bundle's server " \
           "'MN/GOV/GASR/ss1'" in found


def test_leaves_with_unknown_fields_verify(bundle, entries):
    assert "subjects" in entries[0].fields
    assert verify_bundle(bundle).ok


@pytest.mark.parametrize("size", [0, 1, 2, 3, 5, 8, 13, 64, 100])
def test_the_streamed_root_is_rfc6962s(size):
    leaves = [leaf_hash(bytes([i % 256, i // 256])) for i in range(size)]
    builder = RootBuilder()
    for leaf in leaves:
        builder.add(leaf)
    assert builder.root() == root(leaves)


def test_the_not_carried_signature_is_counted_not_failed(bundle, entries):
    assert entries[NOT_CARRIED].fields["signature_digest"] is not None
    report = verify_bundle(bundle)
    assert (report.ok, report.signatures_absent) == (True, 1)
