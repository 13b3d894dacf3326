"""The registry of the foundation: members, subsystems, servers, CAs, published versions.

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("member_class",
                    sa.Column("code", sa.String(255), primary_key=True),
                    sa.Column("description", sa.String(1000), nullable=False))
    op.create_table("member",
                    sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column("member_class", sa.String(255),
                              sa.ForeignKey("member_class.code"), nullable=False),
                    sa.Column("member_code", sa.String(255), nullable=False),
                    sa.Column("name", sa.String(1000), nullable=False),
                    sa.UniqueConstraint("member_class", "member_code"))
    op.create_table("subsystem",
                    sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column("member_id", sa.Integer, sa.ForeignKey("member.id"),
                              nullable=False),
                    sa.Column("code", sa.String(255), nullable=False),
                    sa.UniqueConstraint("member_id", "code"))
    op.create_table("security_server",
                    sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column("owner_id", sa.Integer, sa.ForeignKey("member.id"),
                              nullable=False),
                    sa.Column("server_code", sa.String(255), nullable=False),
                    sa.Column("address", sa.String(1000), nullable=False),
                    sa.UniqueConstraint("owner_id", "server_code"))
    op.create_table("auth_cert",
                    sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column("server_id", sa.Integer, sa.ForeignKey("security_server.id"),
                              nullable=False),
                    sa.Column("sha256", sa.String(64), nullable=False, unique=True),
                    sa.Column("der", sa.LargeBinary, nullable=False))
    op.create_table("encryption_key",
                    sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column("server_id", sa.Integer, sa.ForeignKey("security_server.id"),
                              nullable=False),
                    sa.Column("suite", sa.Integer, nullable=False),
                    sa.Column("public_key", sa.LargeBinary, nullable=False),
                    sa.UniqueConstraint("server_id", "suite"))
    op.create_table("server_client",
                    sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column("server_id", sa.Integer, sa.ForeignKey("security_server.id"),
                              nullable=False),
                    sa.Column("client", sa.String(1000), nullable=False),
                    sa.UniqueConstraint("server_id", "client"))
    op.create_table("approved_ca",
                    sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column("name", sa.String(1000), nullable=False),
                    sa.Column("der", sa.LargeBinary, nullable=False),
                    sa.Column("ocsp_url", sa.String(1000), nullable=True))
    op.create_table("published_conf",
                    sa.Column("version", sa.Integer, primary_key=True),
                    sa.Column("generated_at", sa.DateTime, nullable=False),
                    sa.Column("content_sha256", sa.String(64), nullable=False))
    op.create_table("global_group",
                    sa.Column("code", sa.String(255), primary_key=True),
                    sa.Column("description", sa.String(1000), nullable=False))
    op.create_table("global_group_member",
                    sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column("group_code", sa.String(255), sa.ForeignKey("global_group.code"),
                              nullable=False),
                    sa.Column("client", sa.String(1000), nullable=False),
                    sa.UniqueConstraint("group_code", "client"))


def downgrade() -> None:
    for table in ("global_group_member", "global_group", "published_conf", "approved_ca",
                  "server_client", "encryption_key", "auth_cert", "security_server",
                  "subsystem", "member", "member_class"):
        op.drop_table(table)
