"""The employer's agreement to a re-sit or re-take, recorded with who agreed and when.

Revision ID: 0004
Revises: 0003_must_change_password
"""

import sqlalchemy as sa
from alembic import op

import testengine.models.types

revision = "0004"
down_revision = "0003_must_change_password"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "resit_agreements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("apprentice_id", sa.Integer(), nullable=False),
        sa.Column("standard_id", sa.Integer(), nullable=False),
        sa.Column("method_key", sa.String(length=40), nullable=False),
        sa.Column("after_result_id", sa.Integer(), nullable=False),
        sa.Column("employer_contact", sa.String(length=120), nullable=False),
        sa.Column("agreed_on", sa.Date(), nullable=False),
        sa.Column("further_learning", sa.Text(), nullable=True),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("recorded_at", testengine.models.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["apprentice_id"], ["apprentices.id"], name=op.f("fk_resit_agreements_apprentice_id_apprentices")),
        sa.ForeignKeyConstraint(["standard_id"], ["standards.id"], name=op.f("fk_resit_agreements_standard_id_standards")),
        sa.ForeignKeyConstraint(["after_result_id"], ["method_results.id"], name=op.f("fk_resit_agreements_after_result_id_method_results")),
        sa.ForeignKeyConstraint(["recorded_by_id"], ["users.id"], name=op.f("fk_resit_agreements_recorded_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resit_agreements")),
    )
    with op.batch_alter_table("resit_agreements", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_resit_agreements_apprentice_id"), ["apprentice_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_resit_agreements_after_result_id"), ["after_result_id"], unique=False)


def downgrade():
    with op.batch_alter_table("resit_agreements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_resit_agreements_after_result_id"))
        batch_op.drop_index(batch_op.f("ix_resit_agreements_apprentice_id"))
    op.drop_table("resit_agreements")
