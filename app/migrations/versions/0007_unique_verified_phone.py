"""users: a verified mobile number belongs to one member (partial unique index)

Before the index can exist, numbers verified by several members are resolved: the
member who verified the number first keeps it verified; the others keep the number
but unverified (they can verify another one), and those among them whose
notifications went by SMS and whose email is verified get them by email instead.

Revision ID: 0007_verified_phone
Revises: 0006
Create Date: 2026-12-02 09:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0007_verified_phone'
down_revision = '0006'
branch_labels = None
depends_on = None

VERIFIED_PHONE = "phone_verified_at IS NOT NULL"
# A member who verified a number after someone else did (ties broken by account age).
LATER_HOLDER = """phone_verified_at IS NOT NULL AND EXISTS (
    SELECT 1 FROM users AS earlier
    WHERE earlier.phone = users.phone AND earlier.phone_verified_at IS NOT NULL
      AND (earlier.phone_verified_at < users.phone_verified_at
           OR (earlier.phone_verified_at = users.phone_verified_at AND earlier.id < users.id)))"""


def upgrade():
    op.execute(f"UPDATE users SET notification_channel = 'email' "
               f"WHERE notification_channel = 'sms' AND email_verified_at IS NOT NULL AND {LATER_HOLDER}")
    op.execute(f"UPDATE users SET phone_verified_at = NULL WHERE {LATER_HOLDER}")
    op.create_index('ux_users_verified_phone', 'users', ['phone'], unique=True,
                    sqlite_where=sa.text(VERIFIED_PHONE), postgresql_where=sa.text(VERIFIED_PHONE))


def downgrade():
    op.drop_index('ux_users_verified_phone', table_name='users')
