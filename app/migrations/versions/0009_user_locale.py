"""users.locale and deliveries.locale: the member's language for pages, mail and SMS (issue 13)

Empty for every existing member: APP_LOCALE decides until they choose in the footer.

Revision ID: 0009_user_locale
Revises: 0008_member_sessions
Create Date: 2026-12-02 15:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0009_user_locale'
down_revision = '0008_member_sessions'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('locale', sa.String(length=5), nullable=True))
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('locale', sa.String(length=5), nullable=True))


def downgrade():
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_column('locale')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('locale')
