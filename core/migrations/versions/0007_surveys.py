"""surveys: forms, responses, answers, taken-in inputs, callback list items

Revision ID: 0007
Revises: 0004
Create Date: 2026-11-23 09:00:00.000000
"""

from alembic import op
import sqlalchemy as sa
import core.db


revision = '0007'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('survey_forms',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('questions', sa.JSON(), nullable=False),
    sa.Column('is_default', sa.Boolean(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_survey_forms')),
    sa.UniqueConstraint('name', name=op.f('uq_survey_forms_name'))
    )
    op.create_table('survey_responses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('form_id', sa.Integer(), nullable=True),
    sa.Column('form_name', sa.String(length=100), nullable=False),
    sa.Column('call_pk', sa.Integer(), nullable=False),
    sa.Column('callback_call_pk', sa.Integer(), nullable=True),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('answered_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('entered_by', sa.String(length=200), nullable=True),
    sa.Column('would_recommend', sa.Boolean(), nullable=True),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('external_ref', sa.String(length=200), nullable=True),
    sa.Column('created_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['call_pk'], ['calls.id'], name=op.f('fk_survey_responses_call_pk_calls'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['callback_call_pk'], ['calls.id'], name=op.f('fk_survey_responses_callback_call_pk_calls'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['form_id'], ['survey_forms.id'], name=op.f('fk_survey_responses_form_id_survey_forms'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_survey_responses')),
    sa.UniqueConstraint('external_ref', name=op.f('uq_survey_responses_external_ref'))
    )
    op.create_index('ix_survey_responses_answered_at', 'survey_responses', ['answered_at'], unique=False)
    op.create_index(op.f('ix_survey_responses_call_pk'), 'survey_responses', ['call_pk'], unique=False)
    op.create_table('callback_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('call_pk', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=16), nullable=False),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.Column('agent_id', sa.Integer(), nullable=True),
    sa.Column('number', sa.String(length=64), nullable=False),
    sa.Column('due_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('closed_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_by', sa.String(length=200), nullable=True),
    sa.Column('closed_by_call_pk', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('response_id', sa.Integer(), nullable=True),
    sa.Column('created_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['agents.id'], name=op.f('fk_callback_items_agent_id_agents'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['call_pk'], ['calls.id'], name=op.f('fk_callback_items_call_pk_calls'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['closed_by_call_pk'], ['calls.id'], name=op.f('fk_callback_items_closed_by_call_pk_calls'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['response_id'], ['survey_responses.id'], name=op.f('fk_callback_items_response_id_survey_responses'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_callback_items')),
    sa.UniqueConstraint('call_pk', name=op.f('uq_callback_items_call_pk'))
    )
    op.create_index(op.f('ix_callback_items_agent_id'), 'callback_items', ['agent_id'], unique=False)
    op.create_index(op.f('ix_callback_items_day'), 'callback_items', ['day'], unique=False)
    op.create_index('ix_callback_items_status_due', 'callback_items', ['status', 'due_at'], unique=False)
    op.create_table('survey_answers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('response_id', sa.Integer(), nullable=False),
    sa.Column('question', sa.String(length=64), nullable=False),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['response_id'], ['survey_responses.id'], name=op.f('fk_survey_answers_response_id_survey_responses'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_survey_answers')),
    sa.UniqueConstraint('response_id', 'question', name=op.f('uq_survey_answers_response_id'))
    )
    op.create_index('ix_survey_answers_question', 'survey_answers', ['question'], unique=False)
    op.create_index(op.f('ix_survey_answers_response_id'), 'survey_answers', ['response_id'], unique=False)
    op.create_table('survey_inputs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('call_ref', sa.String(length=200), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('response_id', sa.Integer(), nullable=True),
    sa.Column('created_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['response_id'], ['survey_responses.id'], name=op.f('fk_survey_inputs_response_id_survey_responses'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_survey_inputs')),
    sa.UniqueConstraint('digest', name=op.f('uq_survey_inputs_digest'))
    )
    op.create_index('ix_survey_inputs_status_created', 'survey_inputs', ['status', 'created_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_survey_inputs_status_created', table_name='survey_inputs')
    op.drop_table('survey_inputs')
    op.drop_index(op.f('ix_survey_answers_response_id'), table_name='survey_answers')
    op.drop_index('ix_survey_answers_question', table_name='survey_answers')
    op.drop_table('survey_answers')
    op.drop_index('ix_callback_items_status_due', table_name='callback_items')
    op.drop_index(op.f('ix_callback_items_day'), table_name='callback_items')
    op.drop_index(op.f('ix_callback_items_agent_id'), table_name='callback_items')
    op.drop_table('callback_items')
    op.drop_index(op.f('ix_survey_responses_call_pk'), table_name='survey_responses')
    op.drop_index('ix_survey_responses_answered_at', table_name='survey_responses')
    op.drop_table('survey_responses')
    op.drop_table('survey_forms')
