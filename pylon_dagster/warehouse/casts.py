"""Typed column values computed in SQL from `raw`, with casts that never fail.

The API documents its fields but does not enforce them: a field may be missing, null or of another
type than documented. A load must not fail because of that, so every expression here yields NULL
for a value of an unexpected JSON type (the record is still complete in `raw`):

- text: strings, numbers and booleans as text; objects and arrays -> NULL.
- bigint: integral JSON numbers in range; anything else -> NULL.
- boolean: JSON booleans only.
- timestamptz: strings starting YYYY-MM-DD that Postgres can read as a timestamp (no offset means
  UTC); anything else -> NULL (including words Postgres would accept, like "now" or "infinity").
- text[]: a JSON array, each element by the text rule; anything else -> NULL.
- jsonb: the value as is; JSON null -> NULL.

Only the timestamp cast can raise inside Postgres for a well-typed but invalid string
("2024-02-30"), so it is a small PL/pgSQL function that catches the error; the rest are inline
expressions. The function lives in the warehouse schema and is (re)created by `ensure_tables()`.
"""

from __future__ import annotations

from collections.abc import Sequence

from pylon_dagster.warehouse.sql import ident, literal, qualified
from pylon_dagster.warehouse.tables import Column

TIMESTAMPTZ_FUNCTION = "_jsonb_to_timestamptz"
BIGINT_MAX = 9223372036854775807


def function_ddl(schema: str) -> str:
    """The safe timestamp cast. `data_exception` is SQLSTATE class 22: bad format, out of range."""
    return f"""
CREATE OR REPLACE FUNCTION {qualified(schema, TIMESTAMPTZ_FUNCTION)}(value jsonb)
RETURNS timestamptz LANGUAGE plpgsql STABLE PARALLEL SAFE AS $function$
BEGIN
    IF jsonb_typeof(value) IS DISTINCT FROM 'string'
            OR (value #>> '{{}}') !~ '^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}' THEN
        RETURN NULL;
    END IF;
    BEGIN
        RETURN (value #>> '{{}}')::timestamptz;
    EXCEPTION WHEN data_exception THEN
        RETURN NULL;
    END;
END
$function$"""


def _as_text(value: str) -> str:
    return f"CASE WHEN jsonb_typeof({value}) IN ('string', 'number', 'boolean') THEN {value} #>> '{{}}' END"


def typed_value(column: Column, schema: str, source: str) -> str:
    """SQL for `column` computed from the jsonb expression `source` (the record)."""
    value = "(" + source + "".join(f" -> {literal(step)}" for step in column.path) + ")"
    match column.pg_type:
        case "text":
            return _as_text(value)
        case "bigint":
            # Nested CASE: Postgres does not promise to evaluate AND operands left to right.
            number = f"({value})::numeric"
            return (
                f"CASE WHEN jsonb_typeof({value}) = 'number' THEN CASE WHEN {number} = trunc("
                f"{number}) AND abs({number}) <= {BIGINT_MAX} THEN ({number})::bigint END END"
            )
        case "boolean":
            return f"CASE WHEN jsonb_typeof({value}) = 'boolean' THEN ({value})::boolean END"
        case "timestamptz":
            return f"{qualified(schema, TIMESTAMPTZ_FUNCTION)}({value})"
        case "text[]":
            return (
                f"CASE WHEN jsonb_typeof({value}) = 'array' THEN ARRAY("
                f"SELECT {_as_text('e.value')} FROM jsonb_array_elements({value}) "
                "WITH ORDINALITY AS e(value, n) ORDER BY e.n) END"
            )
        case "jsonb":
            return f"NULLIF({value}, 'null'::jsonb)"
    raise ValueError(f"no cast for type {column.pg_type!r}")


def typed_values(columns: Sequence[Column], schema: str, source: str) -> list[str]:
    """`typed_value` of each column, aliased with its name (for a SELECT list)."""
    return [f"{typed_value(c, schema, source)} AS {ident(c.name)}" for c in columns]
