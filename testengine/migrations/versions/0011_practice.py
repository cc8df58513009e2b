"""Practice papers: formative attempts on practice-only banks, in a table of their own.

Revision ID: 0011_practice
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

from testengine.models.types import UTCDateTime

revision = "0011_practice"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "practice_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("standard_id", sa.Integer(), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("timed", sa.Boolean(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("ends_at", UTCDateTime(), nullable=True),
        sa.Column("submitted_at", UTCDateTime(), nullable=True),
        sa.Column("questions", sa.JSON(), nullable=False),
        sa.Column("responses", sa.JSON(), nullable=False),
        sa.Column("awarded", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_practice_attempts_user_id_users")),
        sa.ForeignKeyConstraint(["standard_id"], ["standards.id"], name=op.f("fk_practice_attempts_standard_id_standards")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_practice_attempts")),
    )
    op.create_index(op.f("ix_practice_attempts_user_id"), "practice_attempts", ["user_id"], unique=False)


def downgrade():
    op.drop_index(op.f("ix_practice_attempts_user_id"), table_name="practice_attempts")
    op.drop_table("practice_attempts")
