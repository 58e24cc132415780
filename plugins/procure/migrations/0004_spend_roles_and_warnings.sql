-- The reader infers column roles from header and values (procure.extract.spend_infer) and only
-- essential fields quarantine a line. raw.spend_lines: how each line's payment date was known
-- ('day'; 'month' / 'quarter' / 'period' when only the period is known and payment_date is its
-- first day) and the optional fields that did not parse (the line still loaded).
-- raw.spend_manifest: the inferred roles with their evidence (JSON), a confidence 0-1, and the
-- number of lines loaded with warnings.
alter table raw.spend_lines add column if not exists date_precision varchar;
alter table raw.spend_lines add column if not exists field_warnings varchar;
alter table raw.spend_manifest add column if not exists column_evidence varchar;
alter table raw.spend_manifest add column if not exists map_confidence double;
alter table raw.spend_manifest add column if not exists rows_with_warnings integer;

create or replace view raw.spend_files as
select
    council_id, source_file, file_sha256, source_path, landing_path, size_bytes, compression, encoding,
    delimiter, header_line, column_map, column_evidence, map_confidence, rows_with_warnings, rows_read,
    rows_loaded + rows_quarantined as records,
    rows_loaded as accepted,
    rows_quarantined as rejected,
    skipped_blank, skipped_preamble, skipped_repeated_header, skipped_total,
    amount_total_gbp, first_payment_date, last_payment_date, period_months, run_id, loaded_at
from raw.spend_manifest
where status = 'loaded';
