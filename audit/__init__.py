"""Tamper-evident audit log: one record per message on each security server, in an RFC 6962
Merkle tree with signed, time-stamped checkpoints and proofs (`audit.merkle`, `audit.tree`).

The package imports nothing itself: an offline verifier or a command that only reads bundles
does not pay for the database layer (`audit.store`)."""
