"""merge billing

Revision ID: 4d5e6f7a8b9c
Revises: 2b3c4d5e6f7a, 3c4d5e6f7a8b
"""
revision = "4d5e6f7a8b9c"
down_revision = ("2b3c4d5e6f7a", "3c4d5e6f7a8b")
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
