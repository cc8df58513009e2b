"""The audit log records the address a web request came from (the client's, behind trusted proxies).

A plain ADD COLUMN on both databases: on SQLite it keeps the table, and so the append-only triggers
(a batch rebuild would drop them).

Revision ID: 0006_audit_address
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_audit_address"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("audit_log", sa.Column("address", sa.String(45), nullable=True))


def downgrade():
    op.drop_column("audit_log", "address")
