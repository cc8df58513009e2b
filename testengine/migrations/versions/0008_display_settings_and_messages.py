"""Display settings kept on the attempt (and on a display adjustment); the invigilator's messages to the room.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

from testengine.models.types import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    # Nullable: an attempt (or adjustment) without settings shows the standard display.
    with op.batch_alter_table("attempts") as batch:
        batch.add_column(sa.Column("display_settings", sa.JSON(), nullable=True))
    with op.batch_alter_table("adjustments") as batch:
        batch.add_column(sa.Column("display", sa.JSON(), nullable=True))
    op.create_table(
        "invigilator_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sitting_id", sa.Integer(), nullable=False),
        sa.Column("apprentice_id", sa.Integer(), nullable=True),
        sa.Column("body", sa.String(length=500), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=False),
        sa.Column("sent_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["sitting_id"], ["sittings.id"]),
        sa.ForeignKeyConstraint(["apprentice_id"], ["apprentices.id"]),
        sa.ForeignKeyConstraint(["sent_by_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_invigilator_messages_sitting_id", "invigilator_messages", ["sitting_id"])


def downgrade():
    op.drop_index("ix_invigilator_messages_sitting_id", table_name="invigilator_messages")
    op.drop_table("invigilator_messages")
    with op.batch_alter_table("adjustments") as batch:
        batch.drop_column("display")
    with op.batch_alter_table("attempts") as batch:
        batch.drop_column("display_settings")
