"""Trusted anchors of federated instances.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "trusted_anchor",
        sa.Column("instance", sa.String(255), primary_key=True),
        sa.Column("anchor", sa.LargeBinary, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("added_at", sa.DateTime, nullable=False),
        sa.Column("added_by", sa.String(255), nullable=False))


def downgrade() -> None:
    op.drop_table("trusted_anchor")
