"""call attempts: index (call_pk, agent_id) replaces (call_pk), for agents' call lists

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29 21:00:00.000000
"""

from alembic import op


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_call_attempts_call_agent', 'call_attempts', ['call_pk', 'agent_id'])
    op.drop_index('ix_call_attempts_call_pk', table_name='call_attempts')


def downgrade() -> None:
    op.create_index('ix_call_attempts_call_pk', 'call_attempts', ['call_pk'])
    op.drop_index('ix_call_attempts_call_agent', table_name='call_attempts')
