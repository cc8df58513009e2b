"""Sign-in rate-limit counters in the database, so two or more app hosts share one per-address limit.

Revision ID: 0009_fast_lane
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_fast_lane"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "rate_limit_counters",
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_rate_limit_counters")),
    )


def downgrade():
    op.drop_table("rate_limit_counters")
