"""users email index

Revision ID: 2b3c4d5e6f7a
Revises: 1a2b3c4d5e6f
"""
from typing import Sequence, Union

from alembic import op

revision: str = "2b3c4d5e6f7a"
down_revision: Union[str, None] = "1a2b3c4d5e6f"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_index("users_email_idx", "users", ["email"])


def downgrade() -> None:
    op.drop_index("users_email_idx", table_name="users")
