-- The raw and ops schema of procure 0.1.0. `create ... if not exists` and `add column if not
-- exists` because warehouses made before versions were recorded run it too (it brings any of
-- them to version 2). Do not edit: add the next numbered migration instead.

-- raw layer: councils, spend and contract-register files
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

-- OCDS harvest: landed pages, watermarks, rejected releases
create table if not exists raw.notice_pages (
    source varchar not null,
    sha256 varchar not null,                  -- of the body exactly as received
    window_from timestamp not null,
    window_to timestamp not null,
    page_no integer not null,
    url varchar not null,
    landed_path varchar not null,             -- relative to the landing root, gzip-compressed
    bytes integer not null,
    releases integer not null,
    warnings varchar,
    run_id varchar,
    primary key (source, sha256)
);

create table if not exists raw.notice_watermarks (
    source varchar primary key,
    harvested_to timestamp not null,          -- every window ending at or before this completed
    run_id varchar
);

create table if not exists raw.notice_harvest_rejects (
    source varchar not null,
    page_sha256 varchar not null,
    release_index integer not null,
    reason varchar not null,
    release_json varchar not null,
    run_id varchar,
    primary key (source, page_sha256, release_index)
);

-- OCDS records compiled from the releases
create table if not exists raw.notice_records (
    ocid varchar primary key,
    release_count integer not null,
    release_ids varchar not null,            -- the releases merged, in merge order
    latest_release_date timestamp,
    buyer_id varchar,
    buyer_name varchar,
    title varchar,
    tender_status varchar,
    cpv_code varchar,
    tender_value_gbp decimal(18, 2),
    award_count integer not null,
    award_value_gbp decimal(18, 2),          -- sum of active awards' values (placeholders excluded)
    first_award_date timestamp,
    supplier_names varchar,                  -- ' | '-joined, in award order
    sme_supplier_count integer not null,
    vcse_supplier_count integer not null,
    contract_start_date date,
    contract_end_date date,
    merge_warnings varchar,
    record_sha256 varchar not null,
    compiled_json varchar not null,
    run_id varchar
);

-- OCDS schema validation of each release
create table if not exists raw.notice_validation (
    release_key varchar not null,
    content_sha256 varchar not null,          -- the release version that was validated
    schema_version varchar not null,
    error_count integer not null,
    run_id varchar,
    primary key (release_key)
);

create table if not exists raw.notice_validation_errors (
    release_key varchar not null,
    content_sha256 varchar not null,
    error_no integer not null,                -- 1.. in (path, message) order
    path varchar not null,                    -- JSON path in the release, e.g. $.tender.value.amount
    validator varchar not null,               -- the failing keyword: type, format, enum, required, ...
    message varchar not null,
    schema_path varchar not null,             -- where in the schema, e.g. properties/tender/...
    source_file varchar,                      -- where the release came from (landed page#index or file)
    run_id varchar,
    primary key (release_key, error_no)
);

-- one row per finished Airflow task (the run summary)
create schema if not exists ops;
create table if not exists ops.task_runs (
    run_id varchar not null,
    dag_id varchar not null,
    task_id varchar not null,
    map_index integer not null,
    try_number integer,
    interval_start timestamp,
    interval_end timestamp,
    status varchar not null,
    duration_s double,
    rows_json varchar,            -- the task's returned counts (rows in/out per council)
    error varchar,
    recorded_at timestamp not null
);
