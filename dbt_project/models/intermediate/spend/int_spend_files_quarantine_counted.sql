{#- One row per loaded payment file with the rows the reader quarantined, dated by the file's month.
    A file with no accepted row has no payment date, so its month is unknown (null). Counted by file version
    (sha256): a rejected version of a file under the same name keeps its lines in quarantine too. -#}
with

files as (

    select * from {{ ref('stg_finance__spend_files') }}

),

quarantine as (

    select * from {{ ref('stg_finance__spend_quarantine') }}

),

counted as (

    select
        council_id,
        file_sha256,
        count(*) as quarantined_row_count
    from quarantine
    group by council_id, file_sha256

),

final as (

    select
        files.spend_file_id,
        files.council_id,
        files.source_file,
        cast({{ dbt.date_trunc('month', 'files.first_payment_date') }} as date) as month,
        cast(files.records as bigint) as record_count,
        cast(coalesce(counted.quarantined_row_count, 0) as bigint) as quarantined_row_count
    from files
    left join counted on files.council_id = counted.council_id and files.file_sha256 = counted.file_sha256

)

select * from final
