"""Council configuration: defaults, path resolution, and errors that name the file and entry."""

from __future__ import annotations

from pathlib import Path

import pytest

from procure import config
from procure.config import PROJECT_ROOT, ConfigError, get_council, load_councils

ROOT = Path(__file__).resolve().parents[2]


def _write(tmp_path: Path, text: str, name: str = "councils.yml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_minimal_entry_gets_documented_defaults(tmp_path):
    path = _write(tmp_path, "councils:\n  - id: south_norfolk\n    name: '  South Norfolk Council  '\n")

    [council] = load_councils(path)

    assert council.id == "south_norfolk"
    assert council.name == "South Norfolk Council"
    assert council.spend_dir == PROJECT_ROOT / "data" / "drop" / "south_norfolk" / "spend"
    assert council.spend_glob == "*"  # format comes from the bytes, not the extension
    assert council.contracts_file is None
    assert council.contracts_dir == PROJECT_ROOT / "data" / "drop" / "south_norfolk" / "contracts"
    assert (council.spend_urls, council.spend_file_overrides, council.ons_code) == ((), {}, None)
    assert council.notices_dir is None
    assert council.local_postcode_prefixes == ()
    assert council.fiscal_year_start_month == 4
    assert council.spend_overrides == {}


def test_relative_paths_resolve_against_project_root_and_absolute_paths_stay(tmp_path):
    absolute = tmp_path / "drop" / "spend"
    path = _write(
        tmp_path,
        "councils:\n"
        "  - id: norwich\n"
        "    name: Norwich City Council\n"
        f"    spend_dir: {absolute}\n"
        "    contracts_file: data/x/register.csv\n"
        "    notices_dir: data/x/notices\n"
        "    local_postcode_prefixes: [nr1, ' NR2 ']\n"
        "    fiscal_year_start_month: 1\n"
        "    spend_glob: '*.csv.gz'\n"
        "    spend_overrides: {encoding: cp1252}\n",
    )

    [council] = load_councils(path)

    assert council.spend_dir == absolute
    assert council.contracts_file == PROJECT_ROOT / "data" / "x" / "register.csv"
    assert council.notices_dir == PROJECT_ROOT / "data" / "x" / "notices"
    assert council.local_postcode_prefixes == ("NR1", "NR2")
    assert council.fiscal_year_start_month == 1
    assert council.spend_glob == "*.csv.gz"
    assert council.spend_overrides == {"encoding": "cp1252"}


@pytest.mark.parametrize(
    ("second_entry", "expected"),
    [
        ("  - id: broadland\n", "'name' is required"),
        ("  - name: Broadland\n", "'id' is required"),
        ("  - id: norwich\n    name: Norwich again\n", "duplicate council id 'norwich'"),
        ("  - id: Broadland\n    name: Broadland\n", "lower-case"),
        ("  - id: broad-land\n    name: Broadland\n", "lower-case"),
        ("  - id: broadland\n    name: Broadland\n    fiscal_year_start_month: 13\n", "got 13"),
        ("  - id: broadland\n    name: Broadland\n    fiscal_year_start_month: 0\n", "got 0"),
        ("  - just a string\n", "expected a mapping"),
    ],
)
def test_invalid_entry_names_file_and_entry(tmp_path, second_entry, expected):
    path = _write(tmp_path, "councils:\n  - id: norwich\n    name: Norwich City Council\n" + second_entry)

    with pytest.raises(ConfigError) as err:
        load_councils(path)

    message = str(err.value)
    assert str(path) in message
    assert "councils entry 2" in message
    assert expected in message


@pytest.mark.parametrize("text", ["councils: []\n", "councils:\n", "", "other: 1\n"])
def test_empty_council_list_is_rejected_naming_the_file(tmp_path, text):
    path = _write(tmp_path, text)

    with pytest.raises(ConfigError, match="non-empty list") as err:
        load_councils(path)

    assert str(path) in str(err.value)


def test_missing_file_names_the_path_and_procure_config(tmp_path):
    path = tmp_path / "nowhere" / "councils.yml"

    with pytest.raises(ConfigError) as err:
        load_councils(path)

    assert str(path) in str(err.value)
    assert "PROCURE_CONFIG" in str(err.value)


def test_env_overrides_for_warehouse_and_config(tmp_path, monkeypatch):
    monkeypatch.setenv("PROCURE_WAREHOUSE", str(tmp_path / "w.duckdb"))
    monkeypatch.setenv("PROCURE_CONFIG", "elsewhere/councils.yml")
    monkeypatch.setenv("PROCURE_PUBLISH_DIR", str(tmp_path / "pub"))

    assert config.warehouse_path() == tmp_path / "w.duckdb"
    assert config.config_path() == PROJECT_ROOT / "elsewhere" / "councils.yml"
    assert config.publish_dir() == tmp_path / "pub"


def test_defaults_without_env(monkeypatch):
    for var in ("PROCURE_WAREHOUSE", "PROCURE_CONFIG", "PROCURE_PUBLISH_DIR"):
        monkeypatch.delenv(var, raising=False)

    assert config.warehouse_path() == PROJECT_ROOT / "warehouse" / "procurement.duckdb"
    assert config.config_path() == PROJECT_ROOT / "config" / "councils.yml"
    assert config.publish_dir() == PROJECT_ROOT / "publish"


def test_load_councils_reads_procure_config_when_no_path_given(tmp_path, monkeypatch):
    path = _write(tmp_path, "councils:\n  - id: from_env\n    name: From Env\n", name="env.yml")
    monkeypatch.setenv("PROCURE_CONFIG", str(path))

    assert [c.id for c in load_councils()] == ["from_env"]
    assert get_council("from_env").name == "From Env"
    with pytest.raises(ConfigError, match="no council with id 'absent'") as err:
        get_council("absent")
    assert str(path) in str(err.value)


def test_committed_councils_yml_loads():
    councils = load_councils(ROOT / "config" / "councils.yml")

    assert councils, "config/councils.yml lists no council"
    ids = [c.id for c in councils]
    assert len(ids) == len(set(ids))
    norwich = {c.id: c for c in councils}["norwich"]
    assert norwich.name == "Norwich City Council"
    assert norwich.spend_dir == PROJECT_ROOT / "data" / "sample" / "norwich" / "spend"
    assert (
        norwich.contracts_file == PROJECT_ROOT / "data" / "sample" / "norwich" / "contracts" / "contract_register.csv"
    )
    assert "NR1" in norwich.local_postcode_prefixes
    assert norwich.fiscal_year_start_month == 4


# ----------------------------------------------------------------------------- issue 16 item 9


@pytest.mark.parametrize(
    ("council_id", "shown"),
    [
        ("a" * 300, "(300 characters)"),
        ("ｘ", "'ｘ'"),  # fullwidth x: isalnum() and lower() accept it
        ("café", "'café'"),
        ("_hidden", "'_hidden'"),
        ("a" * 64, "'" + "a" * 64 + "'"),
    ],
)
def test_council_id_rule_names_file_entry_and_key(tmp_path, council_id, shown):
    path = _write(tmp_path, f"councils:\n  - id: {council_id}\n    name: Somewhere\n")
    with pytest.raises(ConfigError) as err:
        load_councils(path)
    message = str(err.value)
    assert message.startswith(f"{path}: councils entry 1: key 'id': ")
    assert shown in message and "ASCII" in message
    assert len(message) < 300 + len(str(path))  # a 300-character id is shortened, not echoed whole


def test_longest_allowed_id_loads(tmp_path):
    path = _write(tmp_path, f"councils:\n  - id: {'a' * 63}\n    name: Somewhere\n  - id: 9_x\n    name: Nine\n")
    assert [c.id for c in load_councils(path)] == ["a" * 63, "9_x"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("councils:\n  - id: norwich\n    name: [unclosed\n", "not valid YAML at line "),
        ("councils:\n  - id: norwich\n\tname: tab\n", "not valid YAML at line 3"),
        ("- just\n- a list\n", "must be a YAML mapping at the top level, got a list"),
    ],
)
def test_malformed_yaml_names_the_file_and_line(tmp_path, text, expected):
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_councils(path)
    assert str(err.value).startswith(f"{path}: council configuration ")
    assert expected in str(err.value)


def test_not_utf8_config_names_the_file(tmp_path):
    path = tmp_path / "councils.yml"
    path.write_bytes("councils:\n  - id: norwich\n    name: Caf\xe9\n".encode("latin-1"))
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_councils(path)


def test_cli_shows_a_config_error_without_a_traceback(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from procure.cli import main

    path = _write(tmp_path, "councils:\n  - id: norwich\n    name: [unclosed\n")
    monkeypatch.setenv("PROCURE_CONFIG", str(path))
    monkeypatch.setenv("PROCURE_WAREHOUSE", str(tmp_path / "w.duckdb"))
    for command in (["ingest", "spend", "--council", "norwich"], ["publish", "--month", "2025-03"]):
        result = CliRunner().invoke(main, command)
        assert result.exit_code in (1, 2), (command, result.output)
        assert f"{path}: council configuration is not valid YAML at line 4" in result.output, command
        assert "while parsing a flow sequence at line 3, column 11" in result.output
        assert not isinstance(result.exception, ConfigError | AttributeError), command  # handled, no traceback


def test_placeholder_supplier_ids_are_the_dbt_vars():
    """Python reads the placeholder ids from dbt_project.yml, where the models' var() reads them."""
    import yaml

    dbt_vars = yaml.safe_load((config.dbt_project_dir() / "dbt_project.yml").read_text(encoding="utf-8"))["vars"]
    assert config.placeholder_supplier_ids() == (dbt_vars["redacted_supplier_id"], dbt_vars["unknown_supplier_id"])


def test_an_unknown_dbt_var_names_the_file():
    with pytest.raises(ConfigError, match=r"dbt_project\.yml: no var 'no_such_var'"):
        config.dbt_var("no_such_var")
