"""index tag keys of models and versions

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 08:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('ml_model_tags', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ml_model_tags_key'), ['key'], unique=False)

    with op.batch_alter_table('ml_model_version_tags', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ml_model_version_tags_key'), ['key'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('ml_model_version_tags', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ml_model_version_tags_key'))

    with op.batch_alter_table('ml_model_tags', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ml_model_tags_key'))
