{#- Per payment file: the manifest's account (raw.spend_files: accepted rows, amount total), the loaded raw
    lines and fct_spend agree on row count and amount. Returns the files that disagree, with all three. -#}
with

manifest as (

    select
        council_id,
        source_file,
        cast(accepted as bigint) as manifest_rows,
        cast(amount_total_gbp as decimal(18, 2)) as manifest_gbp
    from {{ source('finance', 'spend_files') }}

),

raw_lines as (

    select
        council_id,
        source_file,
        count(*) as raw_rows,
        cast(sum(cast(amount_gbp as decimal(18, 2))) as decimal(18, 2)) as raw_gbp
    from {{ source('finance', 'spend_lines') }}
    group by council_id, source_file

),

fct as (

    select
        council_id,
        source_file,
        count(*) as fct_rows,
        cast(sum(amount_gbp) as decimal(18, 2)) as fct_gbp
    from {{ ref('fct_spend') }}
    group by council_id, source_file

),

compared as (

    select
        coalesce(manifest.council_id, raw_lines.council_id, fct.council_id) as council_id,
        coalesce(manifest.source_file, raw_lines.source_file, fct.source_file) as source_file,
        manifest.manifest_rows,
        raw_lines.raw_rows,
        fct.fct_rows,
        manifest.manifest_gbp,
        raw_lines.raw_gbp,
        fct.fct_gbp
    from manifest
    full outer join raw_lines
        on manifest.council_id = raw_lines.council_id and manifest.source_file = raw_lines.source_file
    full outer join fct
        on
            coalesce(manifest.council_id, raw_lines.council_id) = fct.council_id
            and coalesce(manifest.source_file, raw_lines.source_file) = fct.source_file

)

select *
from compared
where
    -- a file with no accepted row has no lines: zero, not missing
    coalesce(manifest_rows, -1) <> coalesce(raw_rows, 0)
    or coalesce(raw_rows, 0) <> coalesce(fct_rows, 0)
    or coalesce(manifest_gbp, -1) <> coalesce(raw_gbp, 0)
    or coalesce(raw_gbp, 0) <> coalesce(fct_gbp, 0)
