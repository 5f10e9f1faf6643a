"""Mapping files: the shipped ones load; broken ones fail with file, key path and problem."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from review_pipeline.errors import ConfigError
from review_pipeline.sources.mapping import bundled_mapping, load_mapping

pytestmark = pytest.mark.unit

BASE = {
    "source": "team_x",
    "kind": "files",
    "entities": {
        "sales_order": {
            "file": {"glob": "orders_*.csv", "format": "csv"},
            "columns": {
                "order_id": "订单编号",
                "order_date": "订单日期",
                "amount_cny": {"source": "金额(万元)", "unit": "wan"},
            },
        }
    },
}


def _write(tmp_path: Path, data: dict | str) -> Path:
    path = tmp_path / "team_x.yaml"
    text = data if isinstance(data, str) else yaml.safe_dump(data, allow_unicode=True)
    path.write_text(text, encoding="utf-8")
    return path


def _with(path: tuple[str, ...], value) -> dict:
    import copy

    data = copy.deepcopy(BASE)
    node = data
    for key in path[:-1]:
        node = node[key]
    if value is _DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return data


_DELETE = object()
ORDER = ("entities", "sales_order")
COLS = (*ORDER, "columns")


@pytest.mark.parametrize("name", ["sim_finance", "generic_crm_export"])
def test_shipped_mappings_load(name):
    mapping = bundled_mapping(name)
    assert mapping.kind == "files" and mapping.path is not None


def test_base_example_is_valid(tmp_path):
    mapping = load_mapping(_write(tmp_path, BASE))
    spec = mapping.entities["sales_order"].columns["amount_cny"]
    assert spec.source == ["金额(万元)"] and spec.unit == "wan"


PROBLEMS = [
    # (id, key path to change, new value, text the message must contain)
    (
        "bad-unit",
        (*COLS, "amount_cny"),
        {"source": "x", "unit": "dollars"},
        "entities.sales_order.columns.amount_cny.unit",
    ),
    (
        "unknown-field",
        (*COLS, "order_total"),
        "总额",
        "entities.sales_order.columns.order_total: 'order_total' is not a field of sales_order",
    ),
    (
        "missing-key",
        (*COLS, "order_id"),
        _DELETE,
        "entities.sales_order.columns: key 'order_id' is not mapped",
    ),
    (
        "missing-required",
        (*COLS, "order_date"),
        _DELETE,
        "entities.sales_order.columns: required field 'order_date' is not mapped",
    ),
    (
        "unknown-entity",
        ("entities", "deal"),
        {"file": {"glob": "d.csv", "format": "csv"}, "columns": {}},
        "entities.deal: 'deal' is not a canonical entity",
    ),
    ("files-without-pattern", (*ORDER, "file"), _DELETE, "entities.sales_order.file: missing"),
    (
        "glob-with-folder",
        (*ORDER, "file"),
        {"glob": "../x.csv", "format": "csv"},
        "entities.sales_order.file.glob",
    ),
    (
        "sheet-on-csv",
        (*ORDER, "file"),
        {"glob": "x.csv", "format": "csv", "sheet": "S1"},
        "entities.sales_order.file.sheet: only for xlsx",
    ),
    (
        "unknown-format",
        (*ORDER, "file"),
        {"glob": "x.xml", "format": "xml"},
        "entities.sales_order.file.format",
    ),
    ("bad-timezone", ("timezone",), "Mars/Olympus", "timezone: Value error, unknown time zone"),
    ("bad-kind", ("kind",), "api", "kind: Input should be 'sql' or 'files'"),
    (
        "unit-on-date",
        (*COLS, "order_date"),
        {"source": "日期", "unit": "wan"},
        "entities.sales_order.columns.order_date.unit: only money fields take a unit",
    ),
    (
        "format-without-directive",
        (*COLS, "order_date"),
        {"source": "日期", "date_formats": ["YYYY-MM-DD"]},
        "entities.sales_order.columns.order_date.date_formats: 'YYYY-MM-DD' has no % directive",
    ),
    (
        "unknown-value-map",
        (*COLS, "customer_id"),
        {"source": "客户", "value_map": "tiers"},
        "entities.sales_order.columns.customer_id.value_map: no value map named 'tiers'",
    ),
    (
        "source-and-constant",
        (*COLS, "order_id"),
        {"source": "编号", "constant": "X"},
        "entities.sales_order.columns.order_id: Value error, give either 'source'",
    ),
    (
        "unknown-token",
        (*COLS, "order_date"),
        {"constant": "@today"},
        "entities.sales_order.columns.order_date.constant: unknown token '@today'",
    ),
]


@pytest.mark.parametrize(
    ("change", "value", "expected"), [p[1:] for p in PROBLEMS], ids=[p[0] for p in PROBLEMS]
)
def test_problems_name_file_path_and_problem(tmp_path, change, value, expected):
    path = _write(tmp_path, _with(change, value))
    with pytest.raises(ConfigError) as exc:
        load_mapping(path)
    message = str(exc.value)
    assert message.startswith(f"mapping {path}: ")
    assert expected in message, message


def test_value_map_targets_must_be_canonical(tmp_path):
    data = {
        "source": "crm_x",
        "kind": "files",
        "value_maps": {"stage": {"赢单": "WON", "招标": "S4"}},
        "entities": {
            "lead": {
                "file": {"glob": "leads_*.xlsx", "format": "xlsx"},
                "columns": {
                    "lead_id": "编号",
                    "stage": {"source": "阶段", "value_map": "stage"},
                },
            }
        },
    }
    with pytest.raises(
        ConfigError, match=r"entities\.lead\.columns\.stage: value map gives \['WON'\]"
    ):
        load_mapping(_write(tmp_path, data))


def test_all_problems_reported_at_once(tmp_path):
    data = _with((*COLS, "amount_cny"), {"source": "x", "unit": "dollars"})
    data["entities"]["sales_order"]["columns"]["bogus"] = "y"
    with pytest.raises(ConfigError) as exc:
        load_mapping(_write(tmp_path, data))
    # structure errors first; the canonical checks run once the structure is sound
    assert "1 problem" in str(exc.value) and "unit" in str(exc.value)
    data = _with((*COLS, "bogus"), "y")
    del data["entities"]["sales_order"]["columns"]["order_id"]
    with pytest.raises(ConfigError) as exc:
        load_mapping(_write(tmp_path, data))
    assert "2 problems" in str(exc.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("source: a\nsource: b\n", "duplicate key 'source' at line 2 (first at line 1)"),
        ("source: [unclosed\n", "not valid YAML"),
        ("- just\n- a list\n", "expected a YAML mapping"),
    ],
)
def test_yaml_level_errors(tmp_path, text, expected):
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as exc:
        load_mapping(path)
    assert str(path) in str(exc.value) and expected in str(exc.value)


def test_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read it"):
        load_mapping(tmp_path / "nope.yaml")


def test_yaml_words_stay_text(tmp_path):
    """NO / Y / 0 / 001 are source texts in a mapping, never booleans or numbers."""
    text = """
source: t
kind: files
booleans:
  true: [Y, "1", 是]
  false: [NO, 0, 否]
value_maps:
  tier: {NO: GENERAL, 001: TOP}
entities:
  customer:
    file: {glob: "c_*.csv", format: csv}
    columns:
      customer_id: 编号
      valid_from: {constant: "@load_time"}
      account_tier: {source: 分类, value_map: tier}
"""
    mapping = load_mapping(_write(tmp_path, text))
    assert mapping.booleans.false == ["NO", "0", "否"]
    assert mapping.value_maps["tier"] == {"NO": "GENERAL", "001": "TOP"}


def test_sql_kind_is_supported(tmp_path):
    data = {
        "source": "crm_db",
        "kind": "sql",
        "entities": {
            "lead": {
                "table": {
                    "name": "crm.opportunity",
                    "key_columns": ["opp_id"],
                    "updated_at": "modified_on",
                    "delete_detection": {"mode": "soft_delete", "column": "deleted_on"},
                },
                "columns": {"lead_id": "opp_id", "amount_cny": {"source": "amt", "unit": "wan"}},
            }
        },
    }
    mapping = load_mapping(_write(tmp_path, data))
    assert mapping.entities["lead"].table is not None
    data["entities"]["lead"]["table"]["key_columns"] = ["id"]
    with pytest.raises(ConfigError, match=r"entities\.lead\.table\.key_columns: \['id'\]"):
        load_mapping(_write(tmp_path, data))
    data["entities"]["lead"]["table"]["key_columns"] = ["opp_id"]
    data["entities"]["lead"]["file"] = {"glob": "x.csv", "format": "csv"}
    with pytest.raises(ConfigError, match=r"entities\.lead\.file: not allowed in an 'sql' source"):
        load_mapping(_write(tmp_path, data))


def test_reconciliation_schedule_is_validated(tmp_path):
    def mapping(detection):
        return {
            "source": "crm_db",
            "kind": "sql",
            "entities": {
                "lead": {
                    "table": {
                        "name": "crm.opportunity",
                        "key_columns": ["opp_id"],
                        "updated_at": "modified_on",
                        "delete_detection": detection,
                    },
                    "columns": {"lead_id": "opp_id"},
                }
            },
        }

    ok = load_mapping(
        _write(
            tmp_path,
            mapping({"mode": "full_compare", "every_days": 7, "on_weekdays": ["Sun", "saturday"]}),
        )
    )
    detection = ok.entities["lead"].table.delete_detection
    assert detection.on_weekdays == ["sunday", "saturday"] and detection.weekday_numbers == {6, 7}
    with pytest.raises(ConfigError, match=r"entities\.lead\.table\.delete_detection\.every_days"):
        load_mapping(_write(tmp_path, mapping({"mode": "full_compare", "every_days": 0})))
    with pytest.raises(ConfigError, match=r"delete_detection\.on_weekdays\.0"):
        load_mapping(_write(tmp_path, mapping({"mode": "full_compare", "on_weekdays": ["sundy"]})))
    with pytest.raises(ConfigError, match="schedule mode 'full_compare' only"):
        load_mapping(
            _write(tmp_path, mapping({"mode": "soft_delete", "column": "x", "every_days": 7}))
        )
