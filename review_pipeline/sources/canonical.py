"""The canonical model of ``docs/canonical.md`` as code.

Every mapping file is validated against it, the raw file tables carry one
text column per field of it, and the typed staging casts are checked
against it. Keep it in step with ``docs/canonical.md`` and
``sql/migrations/0003_staging.sql`` (a test compares them).
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Literal

FieldType = Literal["text", "date", "timestamp", "money", "int", "enum"]

BUSINESS_UNITS = ("INFO", "SOFT")
ROLES = ("SALESPERSON", "TEAM_MANAGER", "REGION_MANAGER", "BU_MANAGER", "EXECUTIVE")
ACCOUNT_TIERS = ("STRATEGIC", "TOP", "GENERAL", "NON_NAMED")
STAGES = ("S1", "S2", "S3", "S4", "S5", "LOST", "CANCELLED")
STATUSES = ("OPEN", "PENDING_ORDER", "ORDERED", "LOST", "CANCELLED")
TARGET_LEVELS = ("COMPANY", "REGION", "TEAM", "PERSON")
MEASURES = ("ORDER", "COLLECTION")
UNIT_LEVELS = ("COMPANY", "BU", "REGION", "TEAM")


@dataclass(frozen=True)
class Field:
    """One canonical field.

    ``required`` means the typed table cannot hold a row without it (NOT NULL
    in staging): a mapping must supply it and a row lacking it is quarantined.
    ``default`` is what the staging table fills in when a source has nothing.
    """

    name: str
    type: FieldType
    values: tuple[str, ...] = ()
    required: bool = False
    default: str | None = None
    keep_raw: bool = False
    """Keep the source's own text beside the mapped value, as ``<name>_raw`` (stage, status)."""


@dataclass(frozen=True)
class Entity:
    name: str
    fields: tuple[Field, ...]
    keys: tuple[str, ...]
    optional: bool = False
    _by_name: dict[str, Field] = dc_field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_name.update({f.name: f for f in self.fields})
        missing = [k for k in self.keys if k not in self._by_name]
        if missing:  # pragma: no cover - guards edits of this module
            raise ValueError(f"entity {self.name}: keys {missing} are not fields")

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    def get(self, name: str) -> Field:
        return self._by_name[name]

    def has(self, name: str) -> bool:
        return name in self._by_name

    @property
    def row_columns(self) -> tuple[str, ...]:
        """The fields, each followed by its ``<name>_raw`` twin where the source text is kept."""
        out: list[str] = []
        for f in self.fields:
            out.append(f.name)
            if f.keep_raw:
                out.append(f"{f.name}_raw")
        return tuple(out)

    @property
    def required_fields(self) -> tuple[str, ...]:
        """Fields a row must have: the non-nullable keys and the NOT NULL fields."""
        return tuple(f.name for f in self.fields if f.required)


def _t(name: str, required: bool = False, default: str | None = None) -> Field:
    return Field(name, "text", required=required, default=default)


def _d(name: str, required: bool = False) -> Field:
    return Field(name, "date", required=required)


def _ts(name: str, required: bool = False) -> Field:
    return Field(name, "timestamp", required=required)


def _m(name: str, required: bool = False) -> Field:
    return Field(name, "money", required=required)


def _i(name: str, required: bool = False, default: str | None = None) -> Field:
    return Field(name, "int", required=required, default=default)


def _e(name: str, values: tuple[str, ...], required: bool = False, keep_raw: bool = False) -> Field:
    return Field(name, "enum", values=values, required=required, keep_raw=keep_raw)


_ENTITIES: tuple[Entity, ...] = (
    # Reference data
    Entity(
        "business_unit",
        (_e("business_unit", BUSINESS_UNITS, True), _t("name", True)),
        ("business_unit",),
    ),
    Entity(
        "region",
        (_t("region_code", True), _t("name", True), _e("business_unit", BUSINESS_UNITS)),
        ("region_code",),
    ),
    Entity(
        "city",
        (_t("city_code", True), _t("name", True), _t("region_code", True)),
        ("city_code",),
    ),
    Entity("industry", (_t("industry_code", True), _t("name", True)), ("industry_code",)),
    Entity(
        "product_line",
        (
            _t("product_line_code", True),
            _t("name", True),
            _e("business_unit", BUSINESS_UNITS, True),
        ),
        ("product_line_code",),
    ),
    Entity(
        "channel_partner",
        (
            _t("partner_id", True),
            _t("name", True),
            _t("region_code"),
            _d("signed_from"),
            _d("signed_to"),
        ),
        ("partner_id",),
        optional=True,
    ),
    # Organisation
    Entity(
        "team",
        (
            _t("team_id", True),
            _t("name", True),
            Field("unit_level", "enum", values=UNIT_LEVELS, default="TEAM"),
            _e("business_unit", BUSINESS_UNITS),
            _t("region_code"),
            _t("parent_team_id"),
        ),
        ("team_id",),
    ),
    Entity(
        "employee",
        (_t("employee_id", True), _t("name", True), _t("email"), _d("hired_on"), _d("left_on")),
        ("employee_id",),
    ),
    Entity(
        "employee_assignment",
        (
            _t("employee_id", True),
            _d("valid_from", True),
            _d("valid_to"),
            _e("role", ROLES, True),
            _t("team_id"),
            _t("manager_id"),
        ),
        ("employee_id", "valid_from"),
    ),
    # Customers
    Entity(
        "customer",
        (
            _t("customer_id", True),
            _t("name"),
            _t("credit_code"),
            _t("industry_code"),
            _t("region_code"),
            _t("city_code"),
            _e("account_tier", ACCOUNT_TIERS),
            _t("partner_id"),
            _ts("valid_from", True),
            _ts("updated_at"),
        ),
        ("customer_id",),
    ),
    # Leads
    Entity(
        "lead",
        (
            _t("lead_id", True),
            _e("business_unit", BUSINESS_UNITS),
            _t("product_line_code"),
            _t("customer_id"),
            _t("owner_id"),
            _ts("created_at"),
            _ts("updated_at"),
            _e("stage", STAGES, keep_raw=True),
            _e("status", STATUSES, keep_raw=True),
            _m("amount_cny"),
            _d("expected_tender_date"),
            _d("expected_order_date"),
            _d("expected_collection_date"),
            _m("expected_collection_cny"),
            _d("tender_date"),
            _m("bid_price_cny"),
            _t("competitors"),
            _t("bid_result"),
            _ts("deleted_at"),
        ),
        ("lead_id",),
    ),
    Entity(
        "lead_history",
        (
            _t("lead_id", True),
            _ts("changed_at", True),
            _i("seq", default="0"),
            _e("stage", STAGES, keep_raw=True),
            _e("status", STATUSES, keep_raw=True),
            _m("amount_cny"),
            _t("owner_id"),
            _d("expected_tender_date"),
            _d("expected_order_date"),
            _d("expected_collection_date"),
            _m("expected_collection_cny"),
            _t("customer_id"),
            _t("product_line_code"),
            _d("tender_date"),
            _m("bid_price_cny"),
            _t("competitors"),
        ),
        ("lead_id", "changed_at", "seq"),
    ),
    # Activity
    Entity(
        "visit",
        (
            _t("visit_id", True),
            _t("employee_id"),
            _t("customer_id"),
            _t("lead_id"),
            _ts("visited_at", True),
            _t("method"),
        ),
        ("visit_id",),
        optional=True,
    ),
    Entity(
        "daily_report",
        (
            _t("employee_id", True),
            _d("report_date", True),
            _t("report_id"),
            _ts("submitted_at"),
            _t("approved_by"),
            _ts("approved_at"),
        ),
        ("employee_id", "report_date"),
        optional=True,
    ),
    Entity(
        "weekly_plan",
        (_t("employee_id", True), _d("week_start", True), _ts("submitted_at"), _t("content")),
        ("employee_id", "week_start"),
        optional=True,
    ),
    # Targets and plans
    Entity(
        "target",
        (
            _e("level", TARGET_LEVELS, True),
            _t("org_key", default=""),
            _i("year", True),
            _i("month"),
            _e("business_unit", BUSINESS_UNITS, True),
            _t("product_line_code"),
            _e("account_tier", ACCOUNT_TIERS),
            _e("measure", MEASURES, True),
            _m("amount_cny", True),
            _t("parent_org_key"),
        ),
        (
            "level",
            "org_key",
            "year",
            "month",
            "business_unit",
            "product_line_code",
            "account_tier",
            "measure",
        ),
        optional=True,
    ),
    Entity(
        "monthly_plan",
        (
            _t("employee_id", True),
            _d("plan_month", True),
            _t("product_line_code", True),
            _e("measure", MEASURES, True),
            _ts("stated_at", True),
            _m("amount_cny", True),
        ),
        ("employee_id", "plan_month", "product_line_code", "measure", "stated_at"),
        optional=True,
    ),
    # Finance
    Entity(
        "sales_order",
        (
            _t("order_id", True),
            _d("order_date", True),
            _t("customer_id"),
            _t("lead_id"),
            _t("owner_id"),
            _t("product_line_code"),
            _m("amount_cny", True),
        ),
        ("order_id",),
        optional=True,
    ),
    Entity(
        "invoice",
        (
            _t("invoice_id", True),
            _t("order_id"),
            _d("invoice_date", True),
            _d("due_date"),
            _t("customer_id"),
            _t("owner_id"),
            _m("amount_cny", True),
        ),
        ("invoice_id",),
        optional=True,
    ),
    Entity(
        "collection",
        (
            _t("collection_id", True),
            _t("invoice_id"),
            _d("collection_date", True),
            _t("customer_id"),
            _t("owner_id"),
            _m("amount_cny", True),
        ),
        ("collection_id",),
        optional=True,
    ),
)

CANONICAL: dict[str, Entity] = {e.name: e for e in _ENTITIES}
"""Entity name -> entity, in the order of docs/canonical.md."""


def entity(name: str) -> Entity:
    """The canonical entity ``name``; ``KeyError`` naming the known ones otherwise."""
    try:
        return CANONICAL[name]
    except KeyError:
        raise KeyError(
            f"unknown canonical entity {name!r}; known: {', '.join(CANONICAL)}"
        ) from None


def is_identifier_field(name: str) -> bool:
    """Fields that hold ids or codes, where placeholder ids (``0``, ``999999``) mean null."""
    return name.endswith(("_id", "_code", "_key")) or name == "approved_by"


RAW_FILE_META_COLUMNS: tuple[str, ...] = (
    "source",
    "file_id",
    "file_name",
    "sha256",
    "line_no",
    "loaded_at",
    "row_hash",
)
"""Columns every ``raw.file_<entity>`` table has besides one text column per field."""


def raw_file_table(entity_name: str) -> str:
    """Name (in schema ``raw``) of the table the file loader writes ``entity_name`` rows to."""
    return f"file_{entity(entity_name).name}"


def raw_file_ddl(entity_name: str) -> str:
    """The ``create table`` of ``raw.file_<entity>``, as in sql/migrations/0002_file_manifest.sql."""
    ent = entity(entity_name)
    table = raw_file_table(entity_name)
    cols = [
        "    file_row_id bigint generated always as identity primary key",
        "    source text not null",
        "    file_id bigint not null references ops.file_manifest (file_id)",
        "    file_name text not null",
        "    sha256 text not null",
        "    line_no integer not null",
        "    loaded_at timestamptz not null",
        "    row_hash text not null",
    ]
    cols += [f"    {name} text" for name in ent.row_columns]
    body = ",\n".join(cols)
    return (
        f"create table if not exists raw.{table} (\n{body}\n);\n\n"
        f"create index if not exists {table}_file_ix on raw.{table} (file_id, line_no);\n"
    )
