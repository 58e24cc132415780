with

source as (

    select * from {{ source('finance', 'spend_files') }}

),

renamed as (

    select
        -- ids
        md5(council_id || '|' || file_sha256) as spend_file_id,
        council_id,
        source_file,
        file_sha256,

        -- strings
        period_months,

        -- numerics
        rows_read,
        records,
        accepted,
        rejected,
        skipped_blank,
        skipped_preamble,
        skipped_repeated_header,
        skipped_total,
        cast(amount_total_gbp as decimal(18, 2)) as amount_total_gbp,

        -- dates
        first_payment_date,
        last_payment_date

    from source

)

select * from renamed
