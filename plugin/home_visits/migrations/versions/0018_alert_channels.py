"""webhook channels for alerts: one message per alert and channel, and each channel's health

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07

An alert may go to webhook channels (a Standard Webhooks receiver, a Teams Workflows card) as well as by
email; each goes through the outbox under one message id, and the dashboard shows each channel's last
success and last failure.
"""

import sqlalchemy as sa
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'home_visits_channel_message',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('alert_id', sa.Integer(), sa.ForeignKey('home_visits_alert.id'), nullable=True),
        sa.Column('channel', sa.String(60), nullable=False),
        sa.Column('message_id', sa.String(60), nullable=False, unique=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('next_try_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('failed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('status', sa.String(10), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('last_error', sa.String(500), nullable=False),
        sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint('alert_id', 'channel', name='uq_home_visits_channel_message_alert_channel'),
    )
    op.create_index('ix_home_visits_channel_message_status', 'home_visits_channel_message', ['status'])
    op.create_table(
        'home_visits_channel_health',
        sa.Column('channel', sa.String(60), primary_key=True),
        sa.Column('last_success_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_failure_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_error', sa.String(500), nullable=False),
    )


def downgrade() -> None:
    op.drop_table('home_visits_channel_health')
    op.drop_index('ix_home_visits_channel_message_status', table_name='home_visits_channel_message')
    op.drop_table('home_visits_channel_message')
