"""RFC 6962 Merkle tree against the published test vectors, plus properties and forgeries."""

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.merkle import (
    ProofError,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    root,
    verify_consistency,
    verify_inclusion,
)

REFERENCE = Path(__file__).resolve().parents[2].parent / "shared" / "reference"
VECTORS = REFERENCE / "rfc6962-vectors.json"


@pytest.fixture(scope="module")
def vectors():
    if not VECTORS.exists():
        pytest.skip(f"RFC 6962 vectors not found at {VECTORS}")
    data = json.loads(VECTORS.read_text())
    data["leaves"] = [leaf_hash(bytes.fromhex(h)) for h in data["leaves_hex"]]
    return data


def test_roots_match_the_published_vectors(vectors):
    for size, expected in vectors["roots_hex"].items():
        assert root(vectors["leaves"][:int(size)]).hex() == expected


def test_inclusion_proofs_match_and_verify(vectors):
    for case in vectors["inclusion"]:
        leaves = vectors["leaves"][:case["tree_size"]]
        proof = inclusion_proof(leaves, case["index"])
        assert [p.hex() for p in proof] == case["proof"]
        verify_inclusion(leaves[case["index"]], case["index"], case["tree_size"], proof,
                         root(leaves))


def test_consistency_proofs_match_and_verify(vectors):
    for case in vectors["consistency"]:
        leaves = vectors["leaves"][:case["size2"]]
        proof = consistency_proof(leaves, case["size1"])
        assert [p.hex() for p in proof] == case["proof"]
        verify_consistency(case["size1"], case["size2"], root(leaves[:case["size1"]]),
                           root(leaves), proof)


def _leaves(n):
    return [leaf_hash(i.to_bytes(4, "big")) for i in range(n)]


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=1, max_value=70), st.data())
def test_every_inclusion_and_consistency_proof_verifies(n, data):
    leaves = _leaves(n)
    index = data.draw(st.integers(min_value=0, max_value=n - 1))
    verify_inclusion(leaves[index], index, n, inclusion_proof(leaves, index), root(leaves))
    m = data.draw(st.integers(min_value=1, max_value=n))
    verify_consistency(m, n, root(leaves[:m]), root(leaves), consistency_proof(leaves, m))


def test_a_changed_record_fails_its_inclusion_proof():
    leaves = _leaves(13)
    proof = inclusion_proof(leaves, 5)
    with pytest.raises(ProofError):
        verify_inclusion(leaf_hash(b"forged"), 5, 13, proof, root(leaves))
    with pytest.raises(ProofError):
        verify_inclusion(leaves[5], 6, 13, proof, root(leaves))


def test_a_rewritten_history_fails_consistency():
    old = _leaves(8)
    forked = [*old[:3], leaf_hash(b"rewritten"), *old[4:], *_leaves(12)[8:]]
    with pytest.raises(ProofError):
        verify_consistency(8, 12, root(old), root(forked), consistency_proof(forked, 8))
    with pytest.raises(ProofError):
        verify_consistency(8, 8, root(old), root(forked[:8]), [])
