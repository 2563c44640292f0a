"""billing branch

Revision ID: 3c4d5e6f7a8b
Revises: 1a2b3c4d5e6f
"""
from alembic import op
import sqlalchemy as sa

revision = "3c4d5e6f7a8b"
down_revision = "1a2b3c4d5e6f"
branch_labels = ("billing",)
depends_on = None


def upgrade():
    op.create_table(
        "invoices",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("user_id", sa.BigInteger, sa.ForeignKey("users.id"), nullable=False),
    )


def downgrade():
    op.drop_table("invoices")
