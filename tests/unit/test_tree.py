"""The stored tree (perfect-subtree nodes) against the reference RFC 6962 tree."""

from hypothesis import given
from hypothesis import strategies as st

from audit import merkle
from audit.tree import EMPTY_ROOT, Frontier, StoredTree


def _grow(sizes: list[int]) -> tuple[dict[tuple[int, int], bytes], Frontier, list[bytes]]:
    nodes: dict[tuple[int, int], bytes] = {}
    frontier, hashes = Frontier.empty(), []
    for n in sizes:
        batch = [merkle.leaf_hash(f"leaf {len(hashes) + i}".encode()) for i in range(n)]
        hashes += batch
        for node in frontier.append(batch):
            assert (node.level, node.index) not in nodes  # each node is written once
            nodes[(node.level, node.index)] = node.hash
    return nodes, frontier, hashes


@given(st.lists(st.integers(min_value=0, max_value=9), max_size=8))
def test_frontier_root_and_stored_proofs_match_the_reference(batches):
    nodes, frontier, hashes = _grow(batches)
    tree = StoredTree(lambda level, index: nodes[(level, index)])
    assert frontier.size == len(hashes)
    assert frontier.root() == merkle.root(hashes)
    for size in range(1, len(hashes) + 1):
        assert tree.root(size) == merkle.root(hashes[:size])
        for index in (0, size // 2, size - 1):
            assert tree.inclusion_proof(index, size) == merkle.inclusion_proof(hashes[:size],
                                                                               index)
        for size1 in (1, (size + 1) // 2, size):
            assert tree.consistency_proof(size1, size) == merkle.consistency_proof(
                hashes[:size], size1)


@given(st.integers(min_value=0, max_value=70))
def test_a_reloaded_frontier_continues_the_same_tree(size):
    nodes, frontier, hashes = _grow([size])
    reloaded = Frontier.load(size, lambda level, index: nodes[(level, index)])
    assert reloaded == frontier
    extra = merkle.leaf_hash(b"next")
    reloaded.append([extra])
    assert reloaded.root() == merkle.root([*hashes, extra])


def test_a_large_tree_needs_logarithmically_many_nodes():
    nodes, _, hashes = _grow([1000])
    asked: list[tuple[int, int]] = []

    def lookup(level: int, index: int) -> bytes:
        asked.append((level, index))
        return nodes[(level, index)]

    tree = StoredTree(lookup)
    assert tree.root(1000) == merkle.root(hashes)
    assert len(asked) <= 10  # one node per set bit of the size
    asked.clear()
    assert tree.inclusion_proof(999, 1000) == merkle.inclusion_proof(hashes, 999)
    assert len(asked) <= 20
    assert StoredTree(lookup).root(0) == EMPTY_ROOT
