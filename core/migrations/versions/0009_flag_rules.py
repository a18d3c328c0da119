"""flag rule sets: thresholds an admin sets in the console (merges the 0005/0006/0007 heads)

Revision ID: 0009
Revises: 0005, 0006, 0007
Create Date: 2026-11-23 02:00:00.000000
"""

from alembic import op
import sqlalchemy as sa
import core.db


revision = '0009'
down_revision = ('0005', '0006', '0007')
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('flag_rule_sets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=True),
    sa.Column('rules', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_flag_rule_sets'))
    )


def downgrade() -> None:
    op.drop_table('flag_rule_sets')
