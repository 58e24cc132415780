"""The DuckDB warehouse file: one writer at a time, schemas created on first use.

Airflow serialises writers with a one-slot pool; this module only opens connections
and creates the raw-layer tables the extractors write to. dbt owns every other schema.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from procure.config import warehouse_path

RAW_DDL = """
create schema if not exists raw;
create schema if not exists ops;

create table if not exists raw.councils (
    council_id varchar primary key,
    council_name varchar not null,
    local_postcode_prefixes varchar,          -- comma-separated districts/areas
    fiscal_year_start_month integer not null
);
-- '|'-joined OCDS buyer names / ids that are the council (config buyer_names, buyer_ids)
alter table raw.councils add column if not exists buyer_names varchar;
alter table raw.councils add column if not exists buyer_ids varchar;

-- One row per version of every spend file ever offered, keyed by its bytes. status:
-- loaded (its rows are in raw.spend_lines), superseded (a corrected file for the same
-- period replaced its rows), rejected (unreadable; reason says why). Per file:
-- rows_read = rows_loaded + rows_quarantined + skipped_blank + skipped_preamble
--             + skipped_repeated_header + skipped_total.
create table if not exists raw.spend_manifest (
    council_id varchar not null,
    file_sha256 varchar not null,
    source_file varchar not null,             -- file name as dropped or downloaded
    source_path varchar not null,             -- where it came from: drop-folder path or URL
    landing_path varchar not null,            -- the byte-identical copy the rows were read from
    size_bytes bigint not null,
    compression varchar,
    encoding varchar,
    delimiter varchar,
    header_line integer,
    column_map varchar,                       -- JSON canonical -> original header
    overrides varchar,                        -- JSON reader overrides applied
    rows_read integer,
    rows_loaded integer,
    rows_quarantined integer,
    skipped_blank integer,
    skipped_preamble integer,
    skipped_repeated_header integer,
    skipped_total integer,
    amount_total_gbp decimal(18, 2),          -- sum of the loaded rows
    first_payment_date date,
    last_payment_date date,
    period_months varchar,                    -- months the file covers, 'YYYY-MM[,YYYY-MM...]'
    status varchar not null,                  -- loaded | superseded | rejected
    reason varchar,
    superseded_by varchar,                    -- file_sha256 of the correction
    run_id varchar,
    loaded_at timestamp not null,
    primary key (council_id, file_sha256)
);

create table if not exists raw.spend_lines (
    council_id varchar not null,
    source_file varchar not null,
    file_sha256 varchar not null,
    source_line integer not null,
    record_index integer not null,
    body_name varchar,
    service_area varchar,
    expense_type varchar,
    description varchar,
    supplier_name varchar,
    supplier_ref varchar,
    company_number varchar,
    charity_number varchar,
    vat_number varchar,
    transaction_number varchar,
    proclass_code varchar,
    proclass_label varchar,
    capital_revenue varchar,
    payment_date date,
    payment_date_raw varchar,
    amount_gbp decimal(18, 2),
    amount_raw varchar,
    irrecoverable_vat_gbp decimal(18, 2),
    is_redacted boolean not null,
    is_credit boolean not null,
    is_pcard boolean not null,
    raw_record varchar not null,
    run_id varchar
    -- no primary key (an index over ~10 M lines costs memory and ~3 ms a file): (council_id,
    -- file_sha256, record_index) is unique because a file's lines are inserted only in the
    -- transaction that inserts its raw.spend_manifest row (primary key council_id, file_sha256),
    -- record_index counts 0.. within the file, and dbt tests spend_line_id unique. Warehouses
    -- created before keep their key.
);

create table if not exists raw.spend_quarantine (
    council_id varchar not null,
    source_file varchar not null,
    file_sha256 varchar not null,
    source_line integer not null,
    record_index integer not null,
    field varchar,                            -- the column that could not be read, when known
    reject_reason varchar not null,
    raw_record varchar not null,
    run_id varchar,
    primary key (council_id, file_sha256, record_index)
);

-- the files whose rows are in the warehouse now (what dbt and the board pack read)
create or replace view raw.spend_files as
select
    council_id, source_file, file_sha256, source_path, landing_path, size_bytes, compression, encoding,
    delimiter, header_line, column_map, rows_read,
    rows_loaded + rows_quarantined as records,
    rows_loaded as accepted,
    rows_quarantined as rejected,
    skipped_blank, skipped_preamble, skipped_repeated_header, skipped_total,
    amount_total_gbp, first_payment_date, last_payment_date, period_months, run_id, loaded_at
from raw.spend_manifest
where status = 'loaded';

create table if not exists raw.contract_manifest (
    council_id varchar not null,
    file_sha256 varchar not null,
    source_file varchar not null,
    source_path varchar not null,
    landing_path varchar not null,
    size_bytes bigint not null,
    file_format varchar,                      -- csv | xlsx
    encoding varchar,
    header_line integer,
    rows_read integer,
    rows_loaded integer,
    rows_quarantined integer,
    skipped_blank integer,
    skipped_preamble integer,
    status varchar not null,                  -- loaded | superseded | rejected
    reason varchar,
    superseded_by varchar,
    run_id varchar,
    loaded_at timestamp not null,
    primary key (council_id, file_sha256)
);

create table if not exists raw.contracts (
    council_id varchar not null,
    source_file varchar not null,
    file_sha256 varchar not null,
    source_line integer not null,
    contract_ref varchar not null,
    title varchar,
    description varchar,
    service_area varchar,
    procurement_category varchar,
    supplier_name varchar,
    supplier_company_number varchar,
    supplier_charity_number varchar,
    supplier_postcode varchar,
    is_sme boolean,
    is_vcse boolean,
    start_date date,
    end_date date,
    extension_options varchar,
    total_value_gbp decimal(18, 2),
    annual_value_gbp decimal(18, 2),
    procurement_route varchar,
    notice_id varchar,
    raw_record varchar not null,
    run_id varchar,
    primary key (council_id, contract_ref)
);
alter table raw.contracts add column if not exists review_date date;
alter table raw.contracts add column if not exists irrecoverable_vat_gbp decimal(18, 2);

create table if not exists raw.contracts_quarantine (
    council_id varchar not null,
    source_file varchar not null,
    file_sha256 varchar not null,
    source_line integer not null,
    reject_reason varchar not null,
    raw_record varchar not null,
    run_id varchar
);
alter table raw.contracts_quarantine add column if not exists field varchar;

create table if not exists raw.notice_releases (
    release_key varchar primary key,          -- ocid || '/' || release id
    ocid varchar not null,
    release_id varchar not null,
    release_date timestamp,
    tags varchar,
    buyer_id varchar,
    buyer_name varchar,
    title varchar,
    description varchar,
    status varchar,
    cpv_code varchar,
    cpv_description varchar,
    tender_value_gbp decimal(18, 2),
    procurement_method varchar,
    suitable_for_sme boolean,
    suitable_for_vcse boolean,
    content_sha256 varchar not null,
    source_file varchar not null,
    release_json varchar not null,
    run_id varchar
);

create table if not exists raw.notice_parties (
    release_key varchar not null,
    party_id varchar not null,
    name varchar,
    roles varchar,
    postal_code varchar,
    street_address varchar,
    locality varchar,
    country_name varchar,
    scale varchar,
    is_vcse boolean,
    primary key (release_key, party_id)
);

create table if not exists raw.notice_awards (
    release_key varchar not null,
    award_id varchar not null,
    supplier_id varchar not null,
    supplier_name varchar,
    status varchar,
    award_date timestamp,
    value_gbp decimal(18, 2),
    contract_start_date date,
    contract_end_date date,
    primary key (release_key, award_id, supplier_id)
);

create table if not exists ops.quality_results (
    run_id varchar not null,
    checked_at timestamp not null,
    suite varchar not null,
    expectation varchar not null,
    column_name varchar,
    severity varchar not null,
    success boolean not null,
    observed varchar
);

create table if not exists ops.quality_runs (
    run_id varchar not null,
    checked_at timestamp not null,
    passed boolean not null,
    critical_failures integer not null,
    warnings integer not null,
    summary varchar,
    recorded_at timestamp default current_timestamp   -- wall clock, for ordering only
);

create table if not exists ops.publications (
    run_id varchar not null,
    council_id varchar not null,
    kind varchar not null,
    period varchar not null,
    path varchar not null,
    sha256 varchar not null,
    published_at timestamp not null
);
"""


# Before the manifest, raw.spend_files was a table keyed by file name and the spend rows
# were keyed by file name too. The raw layer is rebuilt from the files, so a warehouse in
# that shape drops its spend tables (the next ingest reloads them from the drop folders).
_LEGACY_SPEND = """
select count(*) from information_schema.tables
where table_schema = 'raw' and table_name = 'spend_files' and table_type = 'BASE TABLE'
"""


def _migrate(con: duckdb.DuckDBPyConnection) -> None:
    if con.execute(_LEGACY_SPEND).fetchone()[0]:
        con.execute("drop table raw.spend_files; drop table if exists raw.spend_lines;")
        con.execute("drop table if exists raw.spend_quarantine")


def connect(path: Path | None = None, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the warehouse file, creating its folder and the raw schema when writable."""
    path = path or warehouse_path()
    if read_only:
        try:
            return duckdb.connect(str(path), read_only=True)
        except duckdb.ConnectionException as exc:
            # this process already holds the file read-write (e.g. dbt-duckdb inside the same
            # Airflow task or dag.test run): DuckDB allows only one configuration per file
            if "different configuration" not in str(exc):
                raise
            return duckdb.connect(str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path))
    _migrate(con)
    con.execute(RAW_DDL)
    return con


@contextmanager
def transaction(
    path: Path | None = None, con: duckdb.DuckDBPyConnection | None = None
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A writable connection inside one transaction: all of it lands, or none of it.

    ``con``: an open warehouse connection to run the transaction on (it stays open), so a
    loop over many files pays for opening the file, the DDL and the closing checkpoint once.
    """
    own = con is None
    if con is None:
        con = connect(path)
    try:
        con.execute("begin transaction")
        yield con
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    finally:
        if own:
            con.close()
