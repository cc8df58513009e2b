"""Accounts given a temporary password (created or reset by an administrator) must choose their own
at their next sign-in: a flag on the user, false for every account that exists already.

Revision ID: 0003_must_change_password
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_must_change_password"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("must_change_password", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade():
    with op.batch_alter_table("users") as batch:
        batch.drop_column("must_change_password")
