"""The sitting page's heartbeat, so the room board can show who is online and who is offline.

Revision ID: 0010
Revises: 0009_fast_lane
"""

import sqlalchemy as sa
from alembic import op

from testengine.models.types import UTCDateTime

revision = "0010"
down_revision = "0009_fast_lane"
branch_labels = None
depends_on = None


def upgrade():
    # Nullable: an attempt whose page never reported is neither online nor offline on the board.
    with op.batch_alter_table("attempts") as batch:
        batch.add_column(sa.Column("heartbeat_at", UTCDateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table("attempts") as batch:
        batch.drop_column("heartbeat_at")
