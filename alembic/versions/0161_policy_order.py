"""Row policies test a row's township against the list before the all-townships flag.

Every scope policy's township test was ``(<townships> = '*') OR township_code =
ANY (<townships>)``. PostgreSQL evaluates an OR's arms in the order written, for
every row: a township admin, a grid leader or a cadre (an explicit list, never
'*') paid for both arms on every row. On the admin's 100-row households page at
100 000 households, the ``numberMatched`` count took a median of 13.7-19.5 ms
with the flag first and 10.8-14.5 ms with the list first (about 10 ms with no
policy). Now the list comes first, so for them the OR stops there; an
all-townships admin (the flag) pays the list test first, as others paid the
flag before. Same rows: an OR's value does not depend on its order.

The policies' text is read back from the catalogue and only the two arms are
swapped (80 policies); ``jobs``' policies, written differently, are left as
they are.

Revision ID: 0161_policy_order
Revises: 0160_scope_keys
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from alembic import op
from sqlalchemy import text

revision: str = '0161_policy_order'
down_revision: str | None = '0160_scope_keys'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# as pg_get_expr prints them (pg_policies.qual / with_check)
_FLAG = (
    "(( SELECT NULLIF(current_setting('gridgis.townships'::text, true), ''::text)"
    " AS \"nullif\") = '*'::text)"
)
_LIST = (
    r"\(\(?[a-z_.]+\)?(?:::text)? = ANY \(\( SELECT string_to_array\("
    r"current_setting\('gridgis\.townships'::text, true\), ','::text\)"
    r" AS string_to_array\)::text\[\]\)\)"
)
_FLAG_FIRST = re.compile(re.escape("(" + _FLAG + " OR ") + f"({_LIST})" + r"\)")
_LIST_FIRST = re.compile(r"\(" + f"({_LIST})" + re.escape(" OR " + _FLAG + ")"))


def _rewrite(pattern: re.Pattern[str], swap: str) -> None:
    bind = op.get_bind()
    rows = bind.execute(
        text(
            "SELECT schemaname, tablename, policyname, qual, with_check"
            " FROM pg_policies WHERE qual LIKE '%gridgis.townships%'"
            " OR with_check LIKE '%gridgis.townships%'"
        )
    ).all()
    for schema, table, name, qual, check in rows:
        parts = []
        for clause, expr in (("USING", qual), ("WITH CHECK", check)):
            if expr is None:
                continue
            new = pattern.sub(lambda m: swap.format(m.group(1)), expr)
            if new != expr:
                parts.append(f"{clause} ({new})")
        if parts:
            statement = (
                f'ALTER POLICY "{name}" ON "{schema}"."{table}" ' + " ".join(parts)
            )
            bind.exec_driver_sql(statement)


def upgrade() -> None:
    _rewrite(_FLAG_FIRST, "({} OR " + _FLAG + ")")


def downgrade() -> None:
    _rewrite(_LIST_FIRST, "(" + _FLAG + " OR {})")
