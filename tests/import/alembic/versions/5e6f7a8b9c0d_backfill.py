"""backfill emails

Revision ID: 5e6f7a8b9c0d
Revises: 4d5e6f7a8b9c
"""
from alembic import op
import sqlalchemy as sa

revision = "5e6f7a8b9c0d"
down_revision = "4d5e6f7a8b9c"
branch_labels = None
depends_on = "3c4d5e6f7a8b"


def upgrade():
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, email FROM users")).fetchall()
    for row in rows:
        conn.execute(sa.text("UPDATE users SET email = lower(:e) WHERE id = :i"), {"e": row.email, "i": row.id})


def downgrade():
    pass
