"""deliveries: index only unsent rows by status; announcement rows by announcement id

Marking a message sent used to move its entry in two indexes that include
``status``; now it removes one entry from a partial index that holds only the
rows still to send.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 14:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

# Written as OR, not IN: SQLite uses a partial index for "status = ?" only when
# that term appears in the index's WHERE.
UNSENT = "status = 'pending' OR status = 'sending'"


def upgrade():
    op.drop_index('ix_deliveries_status_due_at', table_name='deliveries')
    op.drop_index('ix_deliveries_announcement_id_status', table_name='deliveries')
    op.create_index('ix_deliveries_unsent_due_at', 'deliveries', ['status', 'due_at'], unique=False,
                    sqlite_where=sa.text(UNSENT), postgresql_where=sa.text(UNSENT))
    op.create_index('ix_deliveries_announcement_id', 'deliveries', ['announcement_id'], unique=False)


def downgrade():
    op.drop_index('ix_deliveries_announcement_id', table_name='deliveries')
    op.drop_index('ix_deliveries_unsent_due_at', table_name='deliveries')
    op.create_index('ix_deliveries_announcement_id_status', 'deliveries', ['announcement_id', 'status'], unique=False)
    op.create_index('ix_deliveries_status_due_at', 'deliveries', ['status', 'due_at'], unique=False)
