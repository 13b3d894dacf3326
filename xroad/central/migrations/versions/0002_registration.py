"""Registration requests and their history, admin API keys and audit trail, TSAs,
auto-approval per member class, client disable/enable.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("member_class") as batch:
        batch.add_column(sa.Column("auto_approve", sa.Boolean, nullable=False,
                                   server_default=sa.false()))
    with op.batch_alter_table("server_client") as batch:
        batch.add_column(sa.Column("enabled", sa.Boolean, nullable=False,
                                   server_default=sa.true()))
    op.create_table(
        "registration_request",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("origin", sa.String(32), nullable=False),
        sa.Column("server", sa.String(1000), nullable=False),
        sa.Column("client", sa.String(1000), nullable=True),
        sa.Column("address", sa.String(1000), nullable=True),
        sa.Column("auth_cert", sa.LargeBinary, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("payload", sa.LargeBinary, nullable=False),
        sa.Column("signature", sa.LargeBinary, nullable=True),
        sa.Column("proof_of_possession", sa.LargeBinary, nullable=True),
        sa.Column("signer", sa.String(1000), nullable=True),
        sa.Column("submitted_by", sa.String(255), nullable=False),
        sa.Column("comment", sa.String(4000), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("decided_at", sa.DateTime, nullable=True),
        sa.Column("decided_by", sa.String(255), nullable=True),
        sa.Column("complement_id", sa.Integer, sa.ForeignKey("registration_request.id"),
                  nullable=True))
    op.create_index("registration_request_status", "registration_request", ["status"])
    op.create_table(
        "registration_event",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("request_id", sa.Integer, sa.ForeignKey("registration_request.id"),
                  nullable=False),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("comment", sa.String(4000), nullable=False))
    op.create_table(
        "admin_api_key",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("key_id", sa.String(16), nullable=False, unique=True),
        sa.Column("secret_sha256", sa.LargeBinary, nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("revoked_at", sa.DateTime, nullable=True))
    op.create_table(
        "admin_audit",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target", sa.String(1000), nullable=False),
        sa.Column("before", sa.Text, nullable=True),
        sa.Column("after", sa.Text, nullable=True))
    op.create_table(
        "timestamping_authority",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(1000), nullable=False),
        sa.Column("url", sa.String(1000), nullable=False, unique=True),
        sa.Column("der", sa.LargeBinary, nullable=True))


def downgrade() -> None:
    for table in ("timestamping_authority", "admin_audit", "admin_api_key",
                  "registration_event", "registration_request"):
        op.drop_table(table)
    with op.batch_alter_table("server_client") as batch:
        batch.drop_column("enabled")
    with op.batch_alter_table("member_class") as batch:
        batch.drop_column("auto_approve")
