"""Typed column values computed in SQL from `raw`, with casts that never fail.

The API documents its fields but does not enforce them: a field may be missing, null or of another
type than documented. A load must not fail because of that, so every expression here yields NULL
for a value of an unexpected JSON type (the record is still complete in `raw`):

- text: strings, numbers and booleans as text; objects and arrays -> NULL.
- bigint: integral JSON numbers in range; anything else -> NULL.
- double precision: JSON numbers; anything else -> NULL.
- boolean: JSON booleans only.
- timestamptz: strings starting YYYY-MM-DD that Postgres can read as a timestamp (no offset means
  UTC); anything else -> NULL (including words Postgres would accept, like "now" or "infinity").
- text[]: a JSON array, each element by the text rule; anything else -> NULL.
- jsonb: the value as is; JSON null -> NULL.

The expressions are immutable, so they can define generated columns (the loader's staging table
uses that). Two casts need a function, created in the warehouse schema by `ensure_tables()`: the
timestamp cast, because Postgres raises on a well-formed but impossible date ("2024-02-30") and
only PL/pgSQL can catch that on every supported version, and the array cast, because a generation
expression cannot hold a subquery.
"""

from __future__ import annotations

from pylon_dagster.catalog.tablespec import Column
from pylon_dagster.warehouse.sql import literal, qualified

TIMESTAMPTZ_FUNCTION = "_jsonb_to_timestamptz"
TEXT_ARRAY_FUNCTION = "_jsonb_to_text_array"
BIGINT_MAX = 9223372036854775807


def _as_text(value: str) -> str:
    return f"CASE WHEN jsonb_typeof({value}) IN ('string', 'number', 'boolean') THEN {value} #>> '{{}}' END"


def functions_ddl(schema: str) -> list[str]:
    """The two cast functions. `data_exception` is SQLSTATE class 22: bad format, out of range.

    The function-level time zone makes the timestamp cast independent of the session, which is
    what lets it be immutable. It is parallel restricted because its exception block is a
    subtransaction, which a parallel worker cannot start.
    """
    return [
        f"""
CREATE OR REPLACE FUNCTION {qualified(schema, TIMESTAMPTZ_FUNCTION)}(value jsonb)
RETURNS timestamptz LANGUAGE plpgsql IMMUTABLE PARALLEL RESTRICTED SET TimeZone = 'UTC'
AS $function$
DECLARE
    text_value text := value #>> '{{}}';
BEGIN
    IF jsonb_typeof(value) IS DISTINCT FROM 'string'
            OR text_value !~ '^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}' THEN
        RETURN NULL;
    END IF;
    BEGIN
        RETURN text_value::timestamptz;
    EXCEPTION WHEN data_exception THEN
        RETURN NULL;
    END;
END
$function$""",
        f"""
CREATE OR REPLACE FUNCTION {qualified(schema, TEXT_ARRAY_FUNCTION)}(value jsonb)
RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $function$
SELECT CASE WHEN jsonb_typeof(value) = 'array' THEN ARRAY(
    SELECT {_as_text("e.element")}
    FROM jsonb_array_elements(value) WITH ORDINALITY AS e(element, n) ORDER BY e.n
) END
$function$""",
    ]


def typed_value(column: Column, schema: str) -> str:
    """SQL computing `column` from the jsonb column `raw` of the row."""
    if len(column.path) > 1:
        value = f"(raw #> ARRAY[{', '.join(literal(step) for step in column.path)}])"
    else:
        value = f"(raw -> {literal(column.path[0])})"
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
        case "double precision":
            return (
                f"CASE WHEN jsonb_typeof({value}) = 'number' THEN ({value})::double precision END"
            )
        case "boolean":
            return f"CASE WHEN jsonb_typeof({value}) = 'boolean' THEN ({value})::boolean END"
        case "timestamptz":
            return f"{qualified(schema, TIMESTAMPTZ_FUNCTION)}({value})"
        case "text[]":
            return f"{qualified(schema, TEXT_ARRAY_FUNCTION)}({value})"
        case "jsonb":
            return f"NULLIF({value}, 'null'::jsonb)"
    raise ValueError(f"no cast for type {column.pg_type!r}")
