"""Supplier resolution (procure.transform.supplier_match) on real, hand-labelled name pairs and on its rules."""

from __future__ import annotations

import csv
import gc
import random
from pathlib import Path

import duckdb
import pytest

from procure.transform import supplier_match
from procure.transform.supplier_match import (
    Match,
    NameRecord,
    name_key,
    resolve,
    similar,
    site_parts,
    write_matches,
)

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "supplier_pairs_labelled.csv"
REAL_DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "real"


def same_supplier(matches: dict[str, Match], a: str, b: str) -> bool:
    """The resolver's answer for one pair: both resolved and in one cluster."""
    ma, mb = matches[a], matches[b]
    return ma.cluster_key is not None and ma.cluster_key == mb.cluster_key


def _pairs() -> list[dict[str, str]]:
    with FIXTURE.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _score(pairs: list[dict[str, str]]) -> dict[str, float]:
    """Resolve every name of the fixture together (so chaining counts) and score each labelled pair."""
    records = [NameRecord(p[f"name_{side}"], p[f"source_{side}"]) for p in pairs for side in "ab"]
    matches = resolve(records)
    tp = fp = fn = tn = 0
    for p in pairs:
        predicted = same_supplier(matches, p["name_a"], p["name_b"])
        actual = p["same_supplier"] == "1"
        tp += predicted and actual
        fp += predicted and not actual
        fn += actual and not predicted
        tn += not predicted and not actual
    return {"tp": tp, "fp": fp, "fn": fn, "tn": tn, "precision": tp / (tp + fp), "recall": tp / (tp + fn)}


def test_fixture_is_a_real_labelled_set():
    pairs = _pairs()
    assert len(pairs) >= 200
    labels = {p["same_supplier"] for p in pairs}
    assert labels == {"0", "1"}
    kinds = {p["kind"] for p in pairs}
    # hard positives and hard negatives of the kinds the issue names
    assert {"ltd_limited", "and_ampersand", "punctuation", "spelling", "trading_as"} <= kinds
    assert {"similar_name", "place_differs", "redacted", "individuals", "council_vs_firm"} <= kinds
    # a firm named with its establishment, site or department, and one word split in two (issue 12 item 7)
    assert {"firm_re_site", "firm_dash_site", "site_dash_firm", "firm_bracket_site", "org_department"} <= kinds
    assert {"health_care_spacing", "site_not_firm", "franchise_place", "other_body"} <= kinds
    assert len({(p["name_a"], p["name_b"]) for p in pairs}) == len(pairs), "duplicate pair"


def _file_text(path: Path) -> str:
    """A real file's text: its bytes as cp1252, or an XLSX workbook's cell strings."""
    if path.suffix.lower() != ".xlsx":
        return path.read_bytes().decode("cp1252", errors="replace")
    import openpyxl

    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        return "\n".join(
            str(v) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True) for v in row if v
        )
    finally:
        book.close()


@pytest.mark.skipif(not REAL_DATA.is_dir(), reason="real data samples not present")
def test_fixture_names_come_from_the_real_files():
    texts: dict[str, str] = {}

    def text_of(source: str) -> str:
        if source not in texts:
            group, _, stem = source.partition("/")
            pattern = f"{stem}*" if group == "spend" else "**/*" if group == "contracts_finder_ocds" else f"{stem}*"
            base = REAL_DATA / group
            files = [f for f in base.glob(pattern) if f.is_file()]
            assert files, f"{FIXTURE.name}: no real file for source {source!r}"
            texts[source] = "\n".join(_file_text(f) for f in files)
        return texts[source]

    for p in _pairs():
        for side in "ab":
            name, source = p[f"name_{side}"], p[f"source_{side}"]
            assert name in text_of(source), f"{FIXTURE.name} pair {p['pair_id']}: {name!r} not in {source}"


def test_precision_and_recall_on_labelled_pairs():
    score = _score(_pairs())
    print(f"supplier resolution on {FIXTURE.name}: {score}")
    assert score["precision"] >= 0.98, score
    assert score["recall"] >= 0.90, score


def test_metric_detects_labels_the_resolver_disagrees_with():
    """The metric itself can fail: relabel every negative as "same" and recall falls below the bar."""
    pairs = [dict(p, same_supplier="1") if p["same_supplier"] == "0" else p for p in _pairs()]
    assert _score(pairs)["recall"] < 0.90


def test_acme_spellings_with_and_without_company_number_are_one_supplier():
    records = [
        NameRecord("ACME LTD", "spend", "c", "S1", None),
        NameRecord("Acme Limited", "contract_register", "c", None, "1234567"),
        NameRecord("ACME LTD.", "spend", "d", None, None),
        NameRecord("Acme & Sons Ltd", "spend", "c", None, None),
    ]
    matches = resolve(records)
    assert {matches[n].cluster_key for n in ("ACME LTD", "Acme Limited", "ACME LTD.")} == {"CH:01234567"}
    assert matches["Acme & Sons Ltd"].cluster_key != "CH:01234567"


def test_redacted_payees_are_never_merged():
    names = ["Redacted", "REDACTED PERSONAL DATA", "Redacted personal data", "Personal Data Withheld"]
    matches = resolve([NameRecord(n, "spend", "c", "R1") for n in names])
    assert all(matches[n].cluster_key is None and matches[n].rule == "redacted" for n in names)
    assert not same_supplier(matches, "Redacted", "Redacted")
    # a firm whose name merely starts like a redaction marker is a supplier
    assert resolve([NameRecord("REDACTIVE PUBLISHING LIMITED", "spend")])["REDACTIVE PUBLISHING LIMITED"].cluster_key


def test_individuals_match_only_their_exact_key():
    names = ["MR J SMITH", "MR J SMYTH", "MRS J SMITH", "Mr J Smith"]
    matches = resolve([NameRecord(n, "spend", "c", "S9") for n in names])  # one supplier ref for all
    assert same_supplier(matches, "MR J SMITH", "Mr J Smith")
    assert not same_supplier(matches, "MR J SMITH", "MR J SMYTH")
    assert not same_supplier(matches, "MR J SMITH", "MRS J SMITH")
    assert matches["MR J SMYTH"].rule == "individual"


def test_two_company_numbers_are_never_one_supplier():
    matches = resolve(
        [
            NameRecord("BARCHESTER HEALTHCARE LTD", "contract_register", "c", None, "02792244"),
            NameRecord("Barchester Healthcare Limited", "contract_register", "c", None, "03163623"),
        ]
    )
    assert not same_supplier(matches, "BARCHESTER HEALTHCARE LTD", "Barchester Healthcare Limited")


def test_supplier_reference_merges_only_small_groups():
    few = [NameRecord(n, "spend", "c", "S1") for n in ("JOHN SMITH & SONS LTD", "J SMITH AND SONS")]
    assert same_supplier(resolve(few), "JOHN SMITH & SONS LTD", "J SMITH AND SONS")
    many = [NameRecord(f"UNRELATED FIRM {chr(65 + i)}{chr(66 + i)} LTD", "spend", "c", "SUNDRY") for i in range(8)]
    matches = resolve(many)
    assert len({m.cluster_key for m in matches.values()}) == 8


def test_trading_as_links_owner_and_trading_name():
    names = ["BFS GROUP LTD T/A BIDVEST FOODSERVICES", "BFS GROUP LTD T/A 3663", "BIDVEST FOODSERVICES", "BFS GROUP"]
    matches = resolve([NameRecord(n, "spend") for n in names])
    assert len({matches[n].cluster_key for n in names}) == 1


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("NORTH NORFOLK DISTRICT COUNCIL", "SOUTH NORFOLK DISTRICT COUNCIL"),
        ("PARTNERSHIPS IN CARE 1 LIMITED", "PARTNERSHIPS IN CARE LIMITED"),
        ("NORFOLK COUNTY COUNCIL", "NORFOLK CARE LTD"),
        ("LAKEVIEW RESIDENTIAL HOME", "PARKVIEW RESIDENTIAL HOME"),
    ],
)
def test_hard_negatives_stay_apart(a, b):
    assert not same_supplier(resolve([NameRecord(a, "x"), NameRecord(b, "x")]), a, b)


def _same(a: str, b: str, *others: str) -> bool:
    names = [a, b, *others]
    return same_supplier(resolve([NameRecord(n, "spend", "c") for n in names]), a, b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("ACORN CARE HOMES LTD RE THE BEECHES", "Acorn Care Homes Limited"),  # <firm> re <care home>
        ("Acorn Care Homes Ltd RE: Beech House", "ACORN CARE HOMES"),
        ("SEVERN TRENT WATER - 1234567 DEPOT", "Severn Trent Water Ltd"),  # <firm> - <site>
        ("THE BEECHES - ACORN CARE HOMES", "ACORN CARE HOMES LTD"),  # <site> - <firm>
        ("ACORN CARE HOMES/THE BEECHES", "Acorn Care Homes"),
        ("ACORN CARE HOMES (THE BEECHES)", "Acorn Care Homes Ltd"),  # <firm> (<site>)
        ("ACORN CARE HOMES-THE BEECHES", "Acorn Care Homes Ltd"),
        ("Meadowbank Health Care", "MEADOWBANK HEALTHCARE LTD"),  # Health Care / Healthcare
        ("MEADOWBANK HEALTHCARE - ROSE COURT", "Meadowbank Health Care Ltd"),
        ("WESSEX COUNTY COUNCIL - ADULT SOCIAL CARE", "Wessex County Council"),  # <organisation> <department>
        ("Wessex County Council (Pension Payments)", "WESSEX COUNTY COUNCIL"),
        ("WESSEX COUNTY COUNCIL HIGHWAYS DEPARTMENT", "Wessex County Council"),
        ("Borsetshire Wildlife Trust Eastern Office", "BORSETSHIRE WILDLIFE TRUST"),
        ("VODAFONE CORPORATE LTD INACTIVE", "Vodafone Corporate Limited"),  # text after a legal form
    ],
)
def test_a_firm_named_with_its_site_or_department_is_the_firm(a, b):
    assert _same(a, b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("DIXONS OF WESTERHOPE (CALOR GAS)", "CALOR GAS LIMITED"),  # the bracket names a product, not the payee
        ("FLEX-E-VOUCHERS RE ELDON SQUARE", "ELDON SQUARE"),  # the text after RE is the establishment
        ("KIRKWOOD COURT C/O HELEN MCARDLE CARE", "HELEN MCARDLE CARE LTD"),  # left of C/O is the payee
        ("BLUEBIRD CARE (NEWTON ABBOT)", "BLUEBIRD CARE (EXETER)"),  # franchisees named by place
        ("WESSEX COUNTY COUNCIL PENSION FUND", "Wessex County Council"),  # another body, not a department
        ("WESSEX COUNCIL FOR VOLUNTARY SERVICE", "WESSEX COUNCIL"),
        ("BORSETSHIRE WILDLIFE TRUST TRADING LTD", "Borsetshire Wildlife Trust"),
        ("BARCHESTER HEALTHCARE HOMES LTD RE MEADOW PARK", "BARCHESTER HEALTHCARE LTD"),  # the firm is exact
    ],
)
def test_a_site_agent_or_other_body_does_not_join_a_firm(a, b):
    assert not _same(a, b)


def test_a_name_with_its_site_joins_one_firm_only():
    """The first piece naming a supplier seen on its own wins: a bracketed former name or a
    second firm after it does not pull that firm into the same supplier."""
    names = ["ALLSTAR BUSINESS SOLUTIONS LTD - ARVAL PHH BUSINESS SOLUTIONS", "ALLSTAR BUSINESS SOLUTIONS LTD"]
    matches = resolve([NameRecord(n, "spend") for n in [*names, "ARVAL PHH BUSINESS SOLUTIONS LTD"]])
    assert same_supplier(matches, *names)
    assert not same_supplier(matches, names[1], "ARVAL PHH BUSINESS SOLUTIONS LTD")
    assert matches[names[0]].rule == "site_part"


def test_sites_of_one_registered_firm_or_meter_accounts_join_without_the_bare_name():
    assert _same("ANGELA COURT LTD (EDENMORE)", "ANGELA COURT LTD (HATHERLEIGH)")
    assert _same("Water Plus - 4081791400 Canteen", "Water Plus - 6002491027 Playing Fields")
    assert not _same("Carewatch (North Tyneside)", "Carewatch (Newcastle)")


def test_site_parts():
    assert site_parts("BARCHESTER HEALTHCARE HOMES LTD RE MEADOW PARK") == ["BARCHESTER HEALTHCARE HOMES LTD"]
    assert site_parts("ROSEMOUNT - FOUR SEASONS HEALTH CARE") == ["ROSEMOUNT", "FOUR SEASONS HEALTH CARE"]
    assert site_parts("G4S CASH SOLUTIONS (UK) LTD (FORMERLY G4S CASH SERVICES UK LTD)") == [
        "G4S CASH SOLUTIONS (UK) LTD"
    ]
    assert site_parts("BRITISH GAS TRADING LIMITED (ELECTRICITY") == ["BRITISH GAS TRADING LIMITED"]  # cut off
    assert site_parts("CARE CONCERN (DARLINGTON) LTD") == []  # a bracket inside the registered name
    assert site_parts("ENTERPRISE RENT-A-CAR UK") == site_parts("E-ON UK") == site_parts("ACME LTD") == []


def test_normalisation():
    assert name_key("The Copyright Licensing Agency Ltd.") == name_key("COPYRIGHT LICENSING AGENCY LIMITED(THE)")
    assert name_key("J P Lennard Ltd") == "JP LENNARD"
    assert name_key("Ove Arup & Partners Ltd") == name_key("OVE ARUP AND PARTNERS LIMITED")
    assert name_key("Posturite (UK) Ltd") == "POSTURITE"


def test_resolve_leaves_the_cycle_collector_as_it_found_it():
    assert gc.isenabled()
    resolve([NameRecord("ACME LTD", "spend")])
    assert gc.isenabled()
    gc.disable()
    try:
        resolve([NameRecord("ACME LTD", "spend")])
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_result_does_not_depend_on_input_order():
    pairs = _pairs()
    records = [NameRecord(p[f"name_{s}"], p[f"source_{s}"]) for p in pairs for s in "ab"]
    first = {n: m.cluster_key for n, m in resolve(records).items()}
    random.Random(3).shuffle(records)
    assert {n: m.cluster_key for n, m in resolve(records).items()} == first


def test_write_matches_builds_the_crosswalk_in_a_real_warehouse(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    con = duckdb.connect(str(warehouse))
    con.execute("create schema raw")
    con.execute(
        "create table raw.spend_lines (council_id varchar, supplier_name varchar, supplier_ref varchar, "
        "company_number varchar, is_redacted boolean)"
    )
    con.execute(
        "insert into raw.spend_lines values ('c', 'ACME LTD', 'S1', null, false), "
        "('c', 'Acme Limited', null, null, false), ('c', 'Redacted', null, null, false), "
        "('c', 'MR A PERSON', null, null, true)"
    )
    con.close()
    counts = write_matches(warehouse)
    assert counts == {"names": 3, "suppliers": 1}
    again = write_matches(warehouse)  # idempotent: replaced, not appended
    assert again == counts
    con = duckdb.connect(str(warehouse), read_only=True)
    rows = con.execute(
        "select supplier_name, cluster_key, match_rule from raw.supplier_name_matches order by 1"
    ).fetchall()
    con.close()
    assert rows == [
        ("ACME LTD", "NAME:ACME", "exact_key"),
        ("Acme Limited", "NAME:ACME", "exact_key"),
        ("Redacted", None, "redacted"),
    ]


# words that are near misses of each other (one or two edits, truncations, plurals), acronyms of
# others, repeats, numbers and compass words: every rule of similar() fires among these
_TRICKY_WORDS = (  # noqa: SIM905 - one word list, read as text
    "SMITH SMYTH SMITHS SMITHSON SMITTEN CLEANING CLEANSING CLEANER CLEANERS SERVICES SERVICE SERVIC "
    "NORTH EAST CENTRAL GREENWICH GREENWICK LEISURE LEISUR GL GLL GLLL LG NE AB 1 2A 2 JONES JONAS JONESS "
    "APPLIANCES APPLIAN APPLIANC APPLIANCE DEVELOPMENTS DEVELOPMENT DEVELOPMEN ACME ACNE CARE CARES "
    "PARTNERSHIP PARTNERSHIPS PARTNERS CS SC CSL SJ JS SCL ABCDEFGHIJ ABCDEFGHXY ABCDEFGHIJKL ABCDEFGHIJKM "
    "ABCDEFGHIJKLMN ABCDEFGHIJKLXY"
).split()


@pytest.mark.parametrize(("seed", "small_bucket"), [(1, 40), (1, 1)])
def test_signature_candidates_find_every_pair_similar_accepts(monkeypatch, seed, small_bucket):
    """The candidate generation is complete: the same pairs as comparing all pairs with similar().

    small_bucket=1 sends every signature bucket through rapidfuzz's cdist (in 3-row chunks).
    """
    monkeypatch.setattr(supplier_match, "SMALL_BUCKET", small_bucket)
    monkeypatch.setattr(supplier_match, "CDIST_ROWS", 3)
    rng = random.Random(seed)
    keys: set[str] = set()
    while len(keys) < 800:
        key = " ".join(rng.choice(_TRICKY_WORDS) for _ in range(rng.choice((1, 2, 2, 3, 3, 3, 4, 5))))
        keys.add(f"{key}#{rng.randrange(3)}" if rng.random() < 0.1 else key)  # keys split by company number
    token_lists = {k: k.split("#")[0].split() for k in keys}
    ordered = sorted(keys)
    expected = {
        (a, b) for i, a in enumerate(ordered) for b in ordered[i + 1 :] if similar(token_lists[a], token_lists[b])
    }
    assert len(expected) > 25  # the word list does produce pairs
    found = supplier_match._fuzzy_pairs(token_lists, set())
    assert set(found) == expected
    assert len(found) == len(expected)


def test_a_pair_sharing_only_a_very_common_word_is_still_compared():
    """2,500 other names (numbered, so none alike) have SERVICES; the pair differs in its only other
    word (SMITHSONS / SMYTHSONS), so the two share no other three-letter prefix: the blocking this
    replaced skipped blocks of over 2,000 names and never compared them."""
    names = [f"DEPOT {i} SERVICES LTD" for i in range(2500)] + ["SMITHSONS SERVICES LTD", "Smythsons Services Limited"]
    matches = resolve([NameRecord(n, "spend") for n in names])
    assert same_supplier(matches, "SMITHSONS SERVICES LTD", "Smythsons Services Limited")
    assert len({m.cluster_key for m in matches.values()}) == 2501


def test_a_name_spelt_exactly_like_a_registered_company_joins_it_not_a_near_spelling():
    records = [
        NameRecord("STARLING TECHNOLOGIES LTD", "spend", "a", "1", "08317469"),
        NameRecord("Sterling Technologies plc", "spend", "a", "2", "08096427"),
        NameRecord("Sterling Technologies Limited", "spend", "b", "3", "03979378"),
        NameRecord("Sterling Technologies UK Ltd", "spend", "a", "4", None),
    ]
    matches = resolve(records)
    assert matches["Sterling Technologies UK Ltd"].cluster_key == "CH:03979378"  # the first STERLING by number
    assert matches["STARLING TECHNOLOGIES LTD"].cluster_key == "CH:08317469"
