"""member_sessions: server-side sessions, so that signing out ends a session for real

Sessions signed in before this upgrade carry no session token and are signed out once.

Revision ID: 0008_member_sessions
Revises: 0007_verified_phone
Create Date: 2026-12-02 13:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0008_member_sessions'
down_revision = '0007_verified_phone'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'member_sessions',
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('token_hash'),
    )
    with op.batch_alter_table('member_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_member_sessions_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('member_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_member_sessions_user_id'))
    op.drop_table('member_sessions')
