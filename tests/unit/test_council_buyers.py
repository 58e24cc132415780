"""Council buyer names / ids: parsed from councils.yml, mirrored into raw.councils for the notice attribution model."""

from __future__ import annotations

import pytest

from procure.config import ConfigError, load_councils
from procure.extract.spend_loader import register_council
from procure.warehouse import connect


def _config(tmp_path, body: str):
    path = tmp_path / "councils.yml"
    path.write_text("councils:\n" + body, encoding="utf-8")
    return path


def test_buyer_names_default_to_the_council_name_and_ids_to_none(tmp_path):
    (council,) = load_councils(_config(tmp_path, "  - {id: norwich, name: Norwich City Council}\n"))
    assert council.buyer_names == ("Norwich City Council",)
    assert council.buyer_ids == ()


def test_buyer_names_and_ids_are_mirrored_into_raw_councils(tmp_path):
    path = _config(
        tmp_path,
        "  - id: norwich\n    name: Norwich City Council\n"
        "    buyer_names: [Norwich City Council, '  NCC   Procurement ']\n"
        "    buyer_ids: GB-CFS-12345\n",
    )
    (council,) = load_councils(path)
    assert council.buyer_names == ("Norwich City Council", "NCC Procurement")
    assert council.buyer_ids == ("GB-CFS-12345",)
    con = connect(tmp_path / "w.duckdb")
    try:
        register_council(con, council)
        register_council(con, council)  # idempotent: one row per council
        rows = con.execute("select council_id, buyer_names, buyer_ids from raw.councils").fetchall()
    finally:
        con.close()
    assert rows == [("norwich", "Norwich City Council|NCC Procurement", "GB-CFS-12345")]


def test_a_buyer_claimed_by_two_councils_is_refused_naming_the_entry(tmp_path):
    path = _config(
        tmp_path,
        "  - {id: norwich, name: Norwich City Council, buyer_ids: [GB-CFS-1]}\n"
        "  - {id: broadland, name: Broadland District Council, buyer_ids: [gb-cfs-1]}\n",
    )
    with pytest.raises(ConfigError, match=r"councils entry 2: buyer_ids 'gb-cfs-1' is already council 'norwich'"):
        load_councils(path)


@pytest.mark.parametrize("value", ["[A|B]", "[1]", "['']"])
def test_bad_buyer_names_are_named(tmp_path, value):
    path = _config(tmp_path, f"  - {{id: norwich, name: Norwich City Council, buyer_names: {value}}}\n")
    with pytest.raises(ConfigError, match=r"councils\.yml: councils entry 1: buyer_names must be a list"):
        load_councils(path)
