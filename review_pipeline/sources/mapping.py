"""Mapping files: how one source's tables or files map onto the canonical model.

A mapping is a YAML file (format in ``docs/sources/mapping.md``) validated on
load by :func:`load_mapping`; every problem is reported at once, each with the
file, the key path (``entities.lead.columns.amount_cny``) and what is wrong.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from review_pipeline.errors import ConfigError
from review_pipeline.sources.canonical import CANONICAL, Entity

Unit = Literal["yuan", "wan", "yi"]
FileFormat = Literal["csv", "xlsx", "xls"]
SourceKind = Literal["sql", "files"]
Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
WEEKDAYS: tuple[str, ...] = (
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
)
WEEKDAY_ALIASES = {d[:3]: d for d in WEEKDAYS} | {d: d for d in WEEKDAYS}
"""Weekday names as a mapping may write them (``sun``, ``Sunday``), to the canonical name."""

LOAD_DATE = "@load_date"
LOAD_TIME = "@load_time"
TOKENS = (LOAD_DATE, LOAD_TIME)

UNIT_FACTORS = {"yuan": 1, "wan": 10_000, "yi": 100_000_000}
"""Multiplier from a column's unit to yuan: 万元 x 10,000, 亿元 x 100,000,000."""

DEFAULT_DATE_FORMATS = ["%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y.%m.%d", "%Y年%m月%d日"]
DEFAULT_TIMESTAMP_FORMATS = [
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
]
DEFAULT_NULL_MARKERS = ["", "NA", "N/A", "-", "--", "无", "NULL", "None"]
DEFAULT_PLACEHOLDER_IDS = ["0", "999999"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _as_list(value: Any) -> Any:
    if isinstance(value, str):
        return [value]
    return value


class ColumnSpec(_Strict):
    """Where one canonical field comes from, and how its text is read.

    In YAML a plain string or a list of strings is shorthand for ``source``.
    """

    source: list[str] = Field(default_factory=list)
    """Header names (any of them; Chinese and English variants) or the SQL column."""
    constant: str | None = None
    """A fixed value instead of a column; ``@load_date`` / ``@load_time`` for the load's."""
    unit: Unit | None = None
    date_formats: list[str] | None = None
    value_map: str | None = None
    """Name of an entry of the mapping's ``value_maps``."""
    values: dict[str, str] | None = None
    """An inline value map (source text -> canonical value)."""
    null_markers: list[str] | None = None
    required: bool = False
    """Quarantine a row where this field is empty (keys and NOT NULL fields always are)."""

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        if isinstance(data, str | list):
            return {"source": _as_list(data)}
        if isinstance(data, dict) and "source" in data:
            return {**data, "source": _as_list(data["source"])}
        return data

    @model_validator(mode="after")
    def _one_origin(self) -> ColumnSpec:
        if bool(self.source) == (self.constant is not None):
            raise ValueError("give either 'source' (column names) or 'constant', not both")
        if any(not s.strip() for s in self.source):
            raise ValueError("an empty column name in 'source'")
        if self.value_map is not None and self.values is not None:
            raise ValueError("give either 'value_map' (a name) or inline 'values', not both")
        return self


class FileSpec(_Strict):
    """Which files of the landing folder hold an entity, and how to read them."""

    glob: str
    format: FileFormat
    sheet: str | None = None
    header_row: int | None = Field(default=None, ge=1)
    """1-based row of the header when known; otherwise found by matching the header names."""
    encoding: Literal["auto", "utf-8", "gb18030"] = "auto"
    delimiter: Literal[",", ";", "\t", "|"] | None = None
    """Pinned CSV delimiter; detected from a sample when absent."""

    @field_validator("glob")
    @classmethod
    def _plain_glob(cls, value: str) -> str:
        if "/" in value or "\\" in value or value.startswith(".") or ".." in value:
            raise ValueError("a file name pattern only, without folders or leading dots")
        return value


class DeleteDetection(_Strict):
    """How an SQL source shows deleted rows.

    ``soft_delete``: ``column`` holds the deletion time; ``flag``: ``column`` holds a
    boolean (read with the mapping's ``booleans``); ``full_compare``: a key missing
    from a full extraction was deleted; ``none``: deletions are not detected.
    """

    mode: Literal["none", "soft_delete", "flag", "full_compare"] = "none"
    column: str | None = None
    every_days: int = Field(default=1, ge=1)
    """``full_compare`` only: reconcile the keys when the entity's last successful
    reconciliation is this many days (or more) before the business date, or there is
    none. 1 (the default): every run."""
    on_weekdays: list[Weekday] = Field(default_factory=list)
    """``full_compare`` only: also reconcile whenever the business date falls on one of
    these days (``sunday`` before the weekly review, say)."""

    @field_validator("on_weekdays", mode="before")
    @classmethod
    def _weekday_names(cls, value: Any) -> Any:
        value = _as_list(value)
        if isinstance(value, list):
            return [WEEKDAY_ALIASES.get(str(v).strip().lower(), v) for v in value]
        return value

    @model_validator(mode="after")
    def _column_when_needed(self) -> DeleteDetection:
        if self.mode in ("soft_delete", "flag") and not self.column:
            raise ValueError(f"mode '{self.mode}' needs 'column'")
        if self.mode in ("none", "full_compare") and self.column:
            raise ValueError(f"mode '{self.mode}' takes no 'column'")
        if self.mode != "full_compare" and (self.every_days != 1 or self.on_weekdays):
            raise ValueError("'every_days' and 'on_weekdays' schedule mode 'full_compare' only")
        return self

    @property
    def weekday_numbers(self) -> frozenset[int]:
        """ISO weekday numbers (Monday 1 .. Sunday 7) of ``on_weekdays``."""
        return frozenset(WEEKDAYS.index(d) + 1 for d in self.on_weekdays)


class TableSpec(_Strict):
    """Where an entity lives in an SQL source (one table, or view, per entity)."""

    name: str | None = None
    """The table (or view); give ``name`` or ``query``."""
    query: str | None = None
    """A .sql file under ``sql/sources/`` whose select returns canonical column names and
    filters on ``:window_start`` (joins, filters and unit conversions live there)."""
    key_columns: list[str] = Field(min_length=1)
    updated_at: str | None = None
    """Column of the last change, for incremental extraction by window."""
    delete_detection: DeleteDetection = DeleteDetection()

    @model_validator(mode="after")
    def _name_or_query(self) -> TableSpec:
        if (self.name is None) == (self.query is None):
            raise ValueError("give either 'name' (a table) or 'query' (a .sql file), not both")
        if self.query is not None and (
            self.query.startswith(("/", "."))
            or ".." in self.query
            or not self.query.endswith(".sql")
        ):
            raise ValueError("'query' is a .sql file path relative to sql/sources/")
        return self

    @field_validator("name")
    @classmethod
    def _qualified_name(cls, value: str | None) -> str | None:
        if value is None:
            return value
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?", value):
            raise ValueError("a table name, optionally schema-qualified (schema.table)")
        return value


class EntityMapping(_Strict):
    file: FileSpec | None = None
    table: TableSpec | None = None
    columns: dict[str, ColumnSpec] = Field(default_factory=dict)
    deleted_flag: list[str] | None = None
    """Files only: header names of a yes/no column; 'yes' sets ``deleted_at`` to the load time."""

    @field_validator("deleted_flag", mode="before")
    @classmethod
    def _flag_list(cls, value: Any) -> Any:
        return _as_list(value)


class Defaults(_Strict):
    date_formats: list[str] = Field(default_factory=lambda: list(DEFAULT_DATE_FORMATS))
    timestamp_formats: list[str] = Field(default_factory=lambda: list(DEFAULT_TIMESTAMP_FORMATS))
    null_markers: list[str] = Field(default_factory=lambda: list(DEFAULT_NULL_MARKERS))
    placeholder_ids: list[str] = Field(default_factory=lambda: list(DEFAULT_PLACEHOLDER_IDS))
    unit: Unit = "yuan"


class Booleans(_Strict):
    """Words read as yes / no (compared case-insensitively)."""

    true: list[str] = Field(default_factory=lambda: ["是", "Y", "YES", "TRUE", "T", "1"])
    false: list[str] = Field(default_factory=lambda: ["否", "N", "NO", "FALSE", "F", "0"])

    @model_validator(mode="before")
    @classmethod
    def _yaml_bool_keys(cls, data: Any) -> Any:
        # `true:` / `false:` as YAML keys arrive as booleans
        if isinstance(data, dict):
            return {str(k).lower() if isinstance(k, bool) else k: v for k, v in data.items()}
        return data


class SourceMapping(_Strict):
    """One source, validated against the canonical model. Build with :func:`load_mapping`."""

    source: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    kind: SourceKind
    description: str = ""
    timezone: str = "Asia/Shanghai"
    landing: str | None = None
    """Files only: the sub-folder of the landing folder (default: the source name)."""
    defaults: Defaults = Defaults()
    booleans: Booleans = Booleans()
    value_maps: dict[str, dict[str, str]] = Field(default_factory=dict)
    entities: dict[str, EntityMapping] = Field(min_length=1)
    path: Path | None = Field(default=None, exclude=True)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("landing")
    @classmethod
    def _plain_folder(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", value):
            raise ValueError("one folder name (letters, digits, '_', '-', '.'), no path")
        return value

    @property
    def landing_folder(self) -> str:
        return self.landing or self.source

    def entity(self, name: str) -> EntityMapping:
        try:
            return self.entities[name]
        except KeyError:
            raise ConfigError(
                f"mapping {self.path or self.source} has no entity {name!r}; "
                f"it maps: {', '.join(self.entities)}"
            ) from None

    def value_map_for(self, spec: ColumnSpec) -> dict[str, str] | None:
        if spec.values is not None:
            return spec.values
        if spec.value_map is not None:
            return self.value_maps[spec.value_map]
        return None


# ------------------------------------------------------------------ YAML loading
class _Loader(yaml.SafeLoader):
    """Safe YAML where only ``true``/``false``/``null`` are typed and duplicate keys fail.

    YAML 1.1 would read ``NO``, ``Y`` (in some loaders), ``0`` or ``001`` as
    booleans and numbers; in a mapping they are source texts, so they stay text.
    """


_Loader.yaml_implicit_resolvers = {}
_Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|false)$"), list("tf"))
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:null", re.compile(r"^(?:~|null|)$"), ["~", "n", ""]
)


def _construct_mapping(loader: _Loader, node: yaml.MappingNode, deep: bool = False) -> Any:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)  # type: ignore[no-untyped-call]
        if key in seen:
            raise ConfigError(
                f"duplicate key {key!r} at line {key_node.start_mark.line + 1} "
                f"(first at line {seen[key] + 1})"
            )
        seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node, deep=deep)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _path_of(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc) or "(top level)"


def load_mapping(path: str | Path) -> SourceMapping:
    """Read and validate a mapping file.

    Raises:
        ConfigError: naming the file, each problem's key path and the problem.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"mapping {path}: cannot read it ({exc})") from exc
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except ConfigError as exc:
        raise ConfigError(f"mapping {path}: {exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"mapping {path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"mapping {path}: expected a YAML mapping at the top level")
    return mapping_from_dict(data, path)


def mapping_from_dict(data: dict[str, Any], path: Path | None = None) -> SourceMapping:
    """Validate an already parsed mapping (see :func:`load_mapping`)."""
    where = f"mapping {path}" if path else "mapping"
    try:
        mapping = SourceMapping.model_validate({**data, "path": path})
    except ValidationError as exc:
        lines = [f"{_path_of(e['loc'])}: {e['msg']}" for e in exc.errors()]
        raise ConfigError(_problems(where, lines)) from None
    problems = check_mapping(mapping)
    if problems:
        raise ConfigError(_problems(where, problems))
    return mapping


def _problems(where: str, lines: list[str]) -> str:
    plural = "s" if len(lines) != 1 else ""
    return f"{where}: {len(lines)} problem{plural}:\n" + "\n".join(f"  - {x}" for x in lines)


# ------------------------------------------------------------ canonical checks
def check_mapping(mapping: SourceMapping) -> list[str]:
    """Problems of a structurally valid mapping against the canonical model, as 'path: text'."""
    problems: list[str] = []
    for map_name, table in mapping.value_maps.items():
        if not table:
            problems.append(f"value_maps.{map_name}: empty")
    for name, ent_map in mapping.entities.items():
        at = f"entities.{name}"
        ent = CANONICAL.get(name)
        if ent is None:
            problems.append(
                f"{at}: {name!r} is not a canonical entity (known: {', '.join(CANONICAL)})"
            )
            continue
        problems += _check_origin(mapping, ent, ent_map, at)
        for field_name, spec in ent_map.columns.items():
            problems += _check_column(mapping, ent, field_name, spec, f"{at}.columns.{field_name}")
        if ent_map.table is not None and ent_map.table.query is not None:
            continue  # the query returns canonical names; `columns` only adds value maps
        for req in (*ent.required_fields, *ent.keys):
            fld = ent.get(req)
            if req not in ent_map.columns and fld.default is None:
                kind = "key" if req in ent.keys else "required field"
                problems.append(f"{at}.columns: {kind} {req!r} is not mapped")
    return list(dict.fromkeys(problems))


def _check_origin(
    mapping: SourceMapping, ent: Entity, ent_map: EntityMapping, at: str
) -> list[str]:
    if mapping.kind == "files":
        return _check_file_origin(ent, ent_map, at)
    return _check_table_origin(ent, ent_map, at)


def _check_file_origin(ent: Entity, ent_map: EntityMapping, at: str) -> list[str]:
    problems: list[str] = []
    if ent_map.file is None:
        problems.append(f"{at}.file: missing (a 'files' source names a file pattern)")
    if ent_map.table is not None:
        problems.append(f"{at}.table: not allowed in a 'files' source")
    if ent_map.file is not None and ent_map.file.format == "csv" and ent_map.file.sheet:
        problems.append(f"{at}.file.sheet: only for xlsx/xls files")
    if ent_map.file is not None and ent_map.file.format != "csv" and ent_map.file.delimiter:
        problems.append(f"{at}.file.delimiter: only for csv files")
    if ent_map.deleted_flag is not None and not ent.has("deleted_at"):
        problems.append(f"{at}.deleted_flag: entity {ent.name} has no deleted_at")
    return problems


def _check_table_origin(ent: Entity, ent_map: EntityMapping, at: str) -> list[str]:
    problems: list[str] = []
    if ent_map.table is None:
        problems.append(f"{at}.table: missing (an 'sql' source names a table)")
    if ent_map.file is not None:
        problems.append(f"{at}.file: not allowed in an 'sql' source")
    if ent_map.deleted_flag is not None:
        problems.append(f"{at}.deleted_flag: files only; use table.delete_detection")
    for field_name, spec in ent_map.columns.items():
        if len(spec.source) > 1:
            problems.append(
                f"{at}.columns.{field_name}.source: an 'sql' source names one column, "
                f"got {len(spec.source)}"
            )
    if ent_map.table is None or ent_map.table.query is not None:
        return problems
    key_sources = {
        ent_map.columns[k].source[0]
        for k in ent.keys
        if k in ent_map.columns and ent_map.columns[k].source
    }
    extra = [c for c in ent_map.table.key_columns if c not in key_sources]
    if extra:
        problems.append(
            f"{at}.table.key_columns: {extra} are not the columns mapped to the keys "
            f"({', '.join(ent.keys)})"
        )
    if ent_map.table.delete_detection.mode == "soft_delete" and not ent.has("deleted_at"):
        problems.append(f"{at}.table.delete_detection: entity {ent.name} has no deleted_at to fill")
    return problems


def _check_column(  # noqa: C901 - one flat list of independent checks
    mapping: SourceMapping, ent: Entity, field_name: str, spec: ColumnSpec, at: str
) -> list[str]:
    if not ent.has(field_name):
        return [
            f"{at}: {field_name!r} is not a field of {ent.name} "
            f"(fields: {', '.join(ent.field_names)})"
        ]
    fld = ent.get(field_name)
    problems: list[str] = []
    if spec.unit is not None and fld.type != "money":
        problems.append(f"{at}.unit: only money fields take a unit ({field_name} is {fld.type})")
    if spec.date_formats is not None:
        if fld.type not in ("date", "timestamp"):
            problems.append(f"{at}.date_formats: {field_name} is {fld.type}, not a date")
        problems += [
            f"{at}.date_formats: {fmt!r} has no % directive"
            for fmt in spec.date_formats
            if "%" not in fmt
        ]
    table = None
    if spec.value_map is not None:
        if spec.value_map not in mapping.value_maps:
            problems.append(
                f"{at}.value_map: no value map named {spec.value_map!r} "
                f"(defined: {', '.join(mapping.value_maps) or 'none'})"
            )
        else:
            table = mapping.value_maps[spec.value_map]
    elif spec.values is not None:
        table = spec.values
    if (spec.value_map is not None or spec.values is not None) and fld.type != "enum":
        problems.append(f"{at}: value maps apply to enum fields only ({field_name} is {fld.type})")
    if table is not None and fld.type == "enum":
        wrong = sorted({v for v in table.values() if v not in fld.values})
        if wrong:
            problems.append(
                f"{at}: value map gives {wrong}, not values of {field_name} "
                f"({', '.join(fld.values)})"
            )
    if spec.constant is not None:
        problems += _check_constant(fld.type, fld.values, spec.constant, at)
    return problems


def _check_constant(ftype: str, allowed: tuple[str, ...], value: str, at: str) -> list[str]:
    if ftype == "enum" and value not in allowed:
        return [f"{at}.constant: {value!r} is not one of {', '.join(allowed)}"]
    if ftype in ("date", "timestamp") and value.startswith("@") and value not in TOKENS:
        return [f"{at}.constant: unknown token {value!r} (use {' or '.join(TOKENS)})"]
    if ftype not in ("date", "timestamp") and value in TOKENS:
        return [f"{at}.constant: {value} only fits date and timestamp fields"]
    return []


def bundled_mapping(name: str) -> SourceMapping:
    """Load a mapping shipped under ``review_pipeline/sources/mappings/`` by name."""
    path = Path(__file__).resolve().parent / "mappings" / f"{name}.yaml"
    if not path.is_file():
        shipped = sorted(p.stem for p in path.parent.glob("*.yaml"))
        raise ConfigError(f"no bundled mapping {name!r}; shipped: {', '.join(shipped)}")
    return load_mapping(path)
