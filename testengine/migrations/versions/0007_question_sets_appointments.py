"""Question sets drawn for assessor-led methods, and assessors' appointments.

Revision ID: 0007
Revises: 0006_audit_address
"""

import sqlalchemy as sa
from alembic import op

import testengine.models.types

revision = "0007"
down_revision = "0006_audit_address"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "question_sets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("apprentice_id", sa.Integer(), nullable=False),
        sa.Column("standard_id", sa.Integer(), nullable=False),
        sa.Column("method_key", sa.String(length=40), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("pool_key", sa.String(length=64), nullable=False),
        sa.Column("draw_inputs", sa.JSON(), nullable=False),
        sa.Column("pre_picked", sa.Integer(), nullable=False),
        sa.Column("drawn", sa.JSON(), nullable=False),
        sa.Column("questions", sa.JSON(), nullable=False),
        sa.Column("swaps", sa.JSON(), nullable=False),
        sa.Column("drawn_by_id", sa.Integer(), nullable=True),
        sa.Column("drawn_at", testengine.models.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["apprentice_id"], ["apprentices.id"], name=op.f("fk_question_sets_apprentice_id_apprentices")),
        sa.ForeignKeyConstraint(["standard_id"], ["standards.id"], name=op.f("fk_question_sets_standard_id_standards")),
        sa.ForeignKeyConstraint(["pool_key"], ["draw_pools.key"], name=op.f("fk_question_sets_pool_key_draw_pools")),
        sa.ForeignKeyConstraint(["drawn_by_id"], ["users.id"], name=op.f("fk_question_sets_drawn_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_question_sets")),
    )
    with op.batch_alter_table("question_sets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_question_sets_apprentice_id"), ["apprentice_id"], unique=False)
    op.create_table(
        "appointments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("apprentice_id", sa.Integer(), nullable=False),
        sa.Column("standard_id", sa.Integer(), nullable=False),
        sa.Column("method_key", sa.String(length=40), nullable=False),
        sa.Column("assessor_id", sa.Integer(), nullable=False),
        sa.Column("scheduled_for", testengine.models.types.UTCDateTime(), nullable=False),
        sa.Column("conflict", sa.Boolean(), nullable=True),
        sa.Column("conflict_note", sa.Text(), nullable=True),
        sa.Column("declared_at", testengine.models.types.UTCDateTime(), nullable=True),
        sa.Column("question_set_id", sa.Integer(), nullable=True),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("grade", sa.String(length=12), nullable=True),
        sa.Column("method_result_id", sa.Integer(), nullable=True),
        sa.Column("graded_at", testengine.models.types.UTCDateTime(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", testengine.models.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["apprentice_id"], ["apprentices.id"], name=op.f("fk_appointments_apprentice_id_apprentices")),
        sa.ForeignKeyConstraint(["standard_id"], ["standards.id"], name=op.f("fk_appointments_standard_id_standards")),
        sa.ForeignKeyConstraint(["assessor_id"], ["users.id"], name=op.f("fk_appointments_assessor_id_users")),
        sa.ForeignKeyConstraint(["question_set_id"], ["question_sets.id"], name=op.f("fk_appointments_question_set_id_question_sets")),
        sa.ForeignKeyConstraint(["method_result_id"], ["method_results.id"], name=op.f("fk_appointments_method_result_id_method_results")),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f("fk_appointments_created_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appointments")),
    )
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_appointments_apprentice_id"), ["apprentice_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_appointments_assessor_id"), ["assessor_id"], unique=False)


def downgrade():
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_appointments_assessor_id"))
        batch_op.drop_index(batch_op.f("ix_appointments_apprentice_id"))
    op.drop_table("appointments")
    with op.batch_alter_table("question_sets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_question_sets_apprentice_id"))
    op.drop_table("question_sets")
