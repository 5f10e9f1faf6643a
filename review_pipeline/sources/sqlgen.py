"""SQL generated from the canonical model: raw CRM tables and the raw -> staging casts.

Eighteen entities share one shape (text in raw, typed in staging), so the
statements are composed here from :mod:`review_pipeline.sources.canonical`
rather than hand-written eighteen times: one definition, no drift. Identifiers
are composed with :mod:`psycopg.sql`; the only values are bound parameters
(``%(batch_id)s``) or the canonical model's own enum constants as literals.

``sql/migrations/0006_extraction.sql`` holds :func:`raw_crm_ddl`'s output and
``0010_extract_perf.sql`` :func:`raw_crm_perf_ddl`'s; a test regenerates both
and compares.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from psycopg import sql

from review_pipeline.sources.canonical import CANONICAL, Entity, Field

RAW_META = ("batch_id", "source", "loaded_at", "op", "row_hash")
"""Columns every ``raw.crm_<entity>`` table has before one text column per field."""

RAW_NAME_COPIES: dict[str, dict[str, str]] = {
    # staging keeps the source's own stage / status names, so LQ03 can report unmappable ones
    "lead": {"stage_raw": "stage", "status_raw": "status"},
    "lead_history": {"stage_raw": "stage", "status_raw": "status"},
}

STAGING_TABLE = {"sales_order": "sales_order"}
"""Canonical entity -> staging table, where the names differ (none do today)."""

# Entities whose staging key differs from the canonical key (versions kept).
STAGING_KEYS: dict[str, tuple[str, ...]] = {"customer": ("customer_id", "valid_from")}

TARGET_CONFLICT = (
    "level, org_key, year, coalesce(month, 0), business_unit, "
    "coalesce(product_line_code, ''), coalesce(account_tier, ''), measure"
)

SOFT_DELETE_COLUMN = {"lead": "deleted_at"}
"""Entities that keep a deleted row (marked) instead of removing it from staging."""


def raw_table(entity_name: str) -> str:
    return f"crm_{CANONICAL[entity_name].name}"


def raw_fields(entity_name: str) -> tuple[str, ...]:
    return CANONICAL[entity_name].field_names


def staging_keys(entity_name: str) -> tuple[str, ...]:
    return STAGING_KEYS.get(entity_name, CANONICAL[entity_name].keys)


def raw_crm_ddl(entity_name: str) -> str:
    """``create table`` of ``raw.crm_<entity>``: the append-only log of extracted versions."""
    table = raw_table(entity_name)
    cols = [
        "    raw_id bigint generated always as identity primary key",
        "    batch_id bigint not null",
        "    source text not null",
        "    loaded_at timestamptz not null default now()",
        "    op char(1) not null default 'U' constraint "
        + f"{table}_op_ck check (op in ('U', 'D'))",
        "    row_hash text not null",
    ]
    cols += [f"    {name} text" for name in raw_fields(entity_name)]
    body = ",\n".join(cols)
    return (
        f"create table if not exists raw.{table} (\n{body}\n);\n\n"
        f"create index if not exists {table}_batch_ix on raw.{table} (batch_id);\n\n"
        f"create index if not exists {table}_hash_ix on raw.{table} (source, row_hash);\n"
    )


def all_raw_crm_ddl() -> str:
    return "\n".join(raw_crm_ddl(name) for name in CANONICAL)


def raw_crm_perf_ddl(entity_name: str) -> str:
    """Migration 0010's change of ``raw.crm_<entity>`` (after :func:`raw_crm_ddl`).

    The watermark value of every row, the row hash unique per source for
    versions (``op = 'U'``; it replaces the plain hash index the landing's
    ``on conflict do nothing`` and a first load's COPY rely on), and raw ids
    drawn 1,000 at a time per session.
    """
    t = raw_table(entity_name)
    return (
        f"alter table raw.{t} add column if not exists source_updated_at timestamptz;\n\n"
        f"create unique index if not exists {t}_hash_uq on raw.{t} (source, row_hash)\n"
        "where op = 'U';\n\n"
        f"drop index if exists raw.{t}_hash_ix;\n\n"
        f"alter table raw.{t} alter column raw_id set cache 1000;\n"
    )


def all_raw_crm_perf_ddl() -> str:
    return "\n".join(raw_crm_perf_ddl(name) for name in CANONICAL)


# ------------------------------------------------------------------ casts
def _with_default(field: Field, expr: sql.Composable) -> sql.Composable:
    if field.default is None:
        return expr
    return sql.SQL("coalesce({}, {})").format(expr, sql.Literal(field.default))


def _cast(field: Field, column: sql.Composable, entity: str = "") -> sql.Composable:
    if field.type == "text":
        return column
    if field.type == "date":
        return sql.SQL("staging.try_date({})").format(column)
    if field.type == "timestamp":
        return sql.SQL("staging.try_timestamptz({})").format(column)
    if field.type == "money":
        return sql.SQL("staging.try_money({})").format(column)
    if field.type == "int":
        return sql.SQL("staging.try_int({})").format(column)
    if field.type == "enum":
        # the source's name through its value map (ops.value_map), else an already canonical value
        values = sql.SQL(", ").join(sql.Literal(v) for v in field.values)
        return sql.SQL(
            "coalesce((select vm.canonical_value from ops.value_map as vm"
            " where vm.source = r.source and vm.entity = {ent} and vm.field = {fld}"
            " and vm.source_value = {c}), case when {c} in ({v}) then {c} end)"
        ).format(c=column, v=values, ent=sql.Literal(entity), fld=sql.Literal(field.name))
    raise ValueError(f"unknown field type {field.type}")  # pragma: no cover


def _problem(field: Field, raw: sql.Composable, typed: sql.Composable) -> sql.Composable:
    """An SQL expression giving the reason text when ``field`` is bad, else null."""
    name = field.name
    checks: list[sql.Composable] = []
    if field.type != "text" and not (field.type == "enum" and name in ("stage", "status")):
        # stage / status that do not map stay null and are rule LQ03's business
        label = {
            "date": "not a date",
            "timestamp": "not a timestamp",
            "money": "not an amount",
            "int": "not a whole number",
            "enum": "not one of " + "/".join(field.values),
        }[field.type]
        checks.append(
            sql.SQL(
                "when {raw} is not null and {typed} is null then {msg} || quote_literal({raw})"
            ).format(raw=raw, typed=typed, msg=sql.Literal(f"{name}: {label}: "))
        )
    if field.required and field.default is None:
        checks.append(
            sql.SQL("when {raw} is null then {msg}").format(
                raw=raw, msg=sql.Literal(f"{name}: missing")
            )
        )
    if not checks:
        return sql.NULL
    return sql.SQL("case {} end").format(sql.SQL(" ").join(checks))


@dataclass(frozen=True)
class StagingStatement:
    entity: str
    statement: sql.Composed


@functools.lru_cache(maxsize=256)
def staging_upsert(
    entity_name: str, family: str = "crm", *, insert_only: bool = False
) -> StagingStatement:
    """The statement that types one batch of raw rows into staging.

    ``family`` ``crm``: the rows of ``raw.crm_<entity>`` with ``batch_id = %(raw_id)s``
    (the source's own stage names are in ``stage``); ``file``: the rows of
    ``raw.file_<entity>`` with ``file_id = %(raw_id)s`` (mapped already, the
    source's names in ``stage_raw``). Parameters: ``raw_id`` and ``batch_id``
    (the ``ops.extract_batch`` id recorded on every staged row). Returns one
    row: (staged, quarantined, written, amount_staged). Rows with a cast
    problem go to ``quarantine.staging_row`` with every reason; duplicate keys
    inside the batch keep the last version.

    ``insert_only``: a plain ``insert`` without ``on conflict`` (for a staging
    table that holds nothing yet: the caller checks that under a lock). Enum
    fields are mapped through ``ops.value_map`` with one hash-joinable left
    join per field, not a sub-select per row. Composed once per argument set
    (cached): a files source types every file with the same statement.
    """
    ent: Entity = CANONICAL[entity_name]
    table = sql.Identifier("staging", STAGING_TABLE.get(entity_name, entity_name))
    keys = staging_keys(entity_name)
    fields = list(ent.fields)
    if family == "crm":
        raw = sql.Identifier("raw", raw_table(entity_name))
        id_name = "raw_id"
        selection = sql.SQL("r.batch_id = %(raw_id)s and r.op = 'U'")
        copies = RAW_NAME_COPIES.get(entity_name, {})
    elif family == "file":
        raw = sql.Identifier("raw", f"file_{entity_name}")
        id_name = "file_row_id"
        selection = sql.SQL("r.file_id = %(raw_id)s")
        copies = {f"{f.name}_raw": f"{f.name}_raw" for f in fields if f.keep_raw}
    else:
        raise ValueError(f"unknown raw family {family!r}")
    extra = tuple(copies)
    id_col = sql.Identifier(id_name)

    def col(name: str) -> sql.Composable:
        return sql.SQL("r.{}").format(sql.Identifier(name))

    # Cast once in `typed` (columns t_<field>; `offset 0` keeps the planner from folding it
    # into `checked`, which would evaluate every cast again inside the checks), judge the
    # casts in `checked` (materialised: four readers).
    typed_cols: list[sql.Composable] = []
    problems: list[sql.Composable] = []
    joins: list[sql.Composable] = []
    for f in fields:
        raw_expr = _with_default(f, col(f.name))
        if f.type == "enum":
            # the source's name through its value map, else an already canonical value
            vm = sql.Identifier(f"vm_{f.name}")
            joins.append(
                sql.SQL(
                    "left join ops.value_map as {vm} on {vm}.source = r.source"
                    " and {vm}.entity = {ent} and {vm}.field = {fld} and {vm}.source_value = {c}"
                ).format(vm=vm, ent=sql.Literal(entity_name), fld=sql.Literal(f.name), c=raw_expr)
            )
            cast: sql.Composable = sql.SQL(
                "coalesce({vm}.canonical_value, case when {c} in ({v}) then {c} end)"
            ).format(vm=vm, c=raw_expr, v=sql.SQL(", ").join(sql.Literal(v) for v in f.values))
        else:
            cast = _cast(f, raw_expr, entity_name)
        typed_cols.append(sql.SQL("{} as {}").format(cast, sql.Identifier(f"t_{f.name}")))
        problems.append(
            _problem(
                f,
                sql.SQL("t.{}").format(sql.Identifier(f.name)),
                sql.SQL("t.{}").format(sql.Identifier(f"t_{f.name}")),
            )
        )

    target_cols = [f.name for f in fields] + list(extra)
    select_cols: list[sql.Composable] = [
        sql.SQL("{} as {}").format(sql.Identifier(f"t_{f.name}"), sql.Identifier(f.name))
        for f in fields
    ]
    select_cols += [
        sql.SQL("{} as {}").format(sql.Identifier(src), sql.Identifier(dst))
        for dst, src in copies.items()
    ]
    ident_list = sql.SQL(", ").join(sql.Identifier(c) for c in target_cols)
    key_list = sql.SQL(", ").join(sql.Identifier(f"t_{k}") for k in keys)
    if entity_name == "target":
        conflict: sql.Composable = sql.SQL(TARGET_CONFLICT)
    else:
        conflict = sql.SQL(", ").join(sql.Identifier(k) for k in keys)
    non_keys = [c for c in target_cols if c not in keys]
    set_list = sql.SQL(", ").join(
        [sql.SQL("{c} = excluded.{c}").format(c=sql.Identifier(c)) for c in non_keys]
        + [sql.SQL("source = excluded.source, batch_id = excluded.batch_id, loaded_at = now()")]
    )
    has_amount = any(f.name == "amount_cny" for f in fields)
    amount_expr = (
        sql.SQL("select coalesce(sum(t_amount_cny) filter (where ok), 0) from checked")
        if has_amount
        else sql.SQL("select null::numeric")
    )
    key_text = sql.SQL("concat_ws('|', {})").format(
        sql.SQL(", ").join(sql.SQL("r.{}").format(sql.Identifier(k)) for k in ent.keys)
    )

    # what `checked` keeps of a row (not the raw text: `bad` reads that from raw again)
    kept: list[sql.Composable] = [sql.SQL("t.row_id"), sql.SQL("t.source"), sql.SQL("t.entity_key")]
    kept += [sql.SQL("t.{}").format(sql.Identifier(f"t_{f.name}")) for f in fields]
    kept += [sql.SQL("t.{}").format(sql.Identifier(src)) for src in dict.fromkeys(copies.values())]
    real_problems = [p for p in problems if p is not sql.NULL]
    # a row is bad when any check gives a reason; the reasons' text is built only then
    bad_expr: sql.Composable = (
        sql.SQL("num_nonnulls({}) > 0").format(sql.SQL(", ").join(real_problems))
        if real_problems
        else sql.SQL("false")
    )

    statement = sql.SQL(
        """
with typed as (
    select
        r.*,
        r.{id_col} as row_id,
        {key_text} as entity_key,
        {typed_cols}
    from {raw} as r
    {joins}
    where {selection}
    offset 0
),
checked as (
    select
        {kept},
        not ({bad}) as ok,
        case when {bad} then array_remove(array[{problems}]::text[], null) end as reasons
    from typed as t
),
bad as (
    insert into quarantine.staging_row (entity, source, batch_id, entity_key, raw_values, reasons)
    select
        {entity_lit}, r.source, %(batch_id)s, c.entity_key, to_jsonb(r) - {id_lit}, c.reasons
    from checked as c
    join {raw} as r on r.{id_col} = c.row_id
    where not c.ok
    returning 1
),
latest as (
    select distinct on ({key_list}) *
    from checked
    where ok
    order by {key_list}, row_id desc
),
upserted as (
    insert into {table} ({ident_list}, source, batch_id)
    select {select_cols}, source, %(batch_id)s from latest
    {on_conflict}
    returning 1
)
select
    (select count(*) from checked where ok) as staged,
    (select count(*) from bad) as quarantined,
    (select count(*) from upserted) as written,
    ({amount_expr}) as amount_staged
"""
    ).format(
        id_col=id_col,
        id_lit=sql.Literal(id_name),
        selection=selection,
        key_text=key_text,
        typed_cols=sql.SQL(",\n        ").join(typed_cols),
        kept=sql.SQL(", ").join(kept),
        bad=bad_expr,
        problems=sql.SQL(", ").join(problems),
        raw=raw,
        entity_lit=sql.Literal(entity_name),
        key_list=key_list,
        table=table,
        ident_list=ident_list,
        select_cols=sql.SQL(", ").join(select_cols),
        joins=sql.SQL("\n    ").join(joins),
        on_conflict=sql.SQL("")
        if insert_only
        else sql.SQL("on conflict ({conflict}) do update set {set_list}").format(
            conflict=conflict, set_list=set_list
        ),
        amount_expr=amount_expr,
    )
    return StagingStatement(entity_name, statement)


def staging_delete(entity_name: str) -> sql.Composed:
    """Apply a batch's delete records (``op = 'D'``) to staging.

    Parameters: ``batch_id``, ``deleted_at``. Leads are kept and marked; rows
    of other entities are removed (the raw log keeps the delete record).
    """
    ent = CANONICAL[entity_name]
    keys = ent.keys
    table = sql.Identifier("staging", STAGING_TABLE.get(entity_name, entity_name))
    raw = sql.Identifier("raw", raw_table(entity_name))
    match = sql.SQL(" and ").join(
        sql.SQL("t.{k} {op} {cast}").format(
            k=sql.Identifier(k),
            op=sql.SQL("=" if ent.get(k).required else "is not distinct from"),
            cast=_cast(
                ent.get(k),
                _with_default(ent.get(k), sql.SQL("r.{}").format(sql.Identifier(k))),
                entity_name,
            ),
        )
        for k in keys
    )
    deleted_keys = sql.SQL(
        "select source, {} from {} where batch_id = %(batch_id)s and op = 'D'"
    ).format(sql.SQL(", ").join(sql.Identifier(k) for k in keys), raw)
    if entity_name in SOFT_DELETE_COLUMN:
        return sql.SQL(
            "update {table} as t set {col} = %(deleted_at)s, batch_id = %(batch_id)s "
            "from ({keys}) as r where {match} and t.{col} is null"
        ).format(
            table=table,
            col=sql.Identifier(SOFT_DELETE_COLUMN[entity_name]),
            keys=deleted_keys,
            match=match,
        )
    return sql.SQL("delete from {table} as t using ({keys}) as r where {match}").format(
        table=table, keys=deleted_keys, match=match
    )
