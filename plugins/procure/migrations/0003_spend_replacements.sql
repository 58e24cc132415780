-- Spend files add up; a file replaces another only as its re-issue (procure.extract.spend_reissue).
-- One row per replaced file: both files' lines and totals, and why. basis: declared (--replaces)
-- | config (the council's spend_reissue_same_name) | detected (same name stem with a later
-- version mark, or the same name, and most of the older file's lines identical). The replaced
-- version stays in raw.spend_manifest as 'superseded'; period_months there now lists every
-- month in a file's payment dates.
create table if not exists raw.spend_replacements (
    council_id varchar not null,
    replaced_sha256 varchar not null,
    replaced_file varchar not null,
    replaced_lines integer,
    replaced_total_gbp decimal(18, 2),
    replacing_sha256 varchar not null,
    replacing_file varchar not null,
    replacing_lines integer,
    replacing_total_gbp decimal(18, 2),
    basis varchar not null,
    evidence varchar not null,
    run_id varchar,
    replaced_at timestamp not null,
    primary key (council_id, replaced_sha256)
);
