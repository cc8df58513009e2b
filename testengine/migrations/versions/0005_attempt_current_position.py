"""Attempts remember the question the apprentice is on, so a reload opens there and not at question 1.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    # Nullable, no default: an attempt never navigated (or made before this column) opens at question 1.
    with op.batch_alter_table("attempts") as batch:
        batch.add_column(sa.Column("current_position", sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table("attempts") as batch:
        batch.drop_column("current_position")
