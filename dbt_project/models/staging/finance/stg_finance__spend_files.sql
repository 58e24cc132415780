with

source as (

    select * from {{ source('finance', 'spend_files') }}

),

renamed as (

    select
        -- ids
        md5(council_id || '|' || source_file) as spend_file_id,
        council_id,
        source_file,
        file_sha256,

        -- numerics
        records,
        accepted,
        rejected,
        blank_lines_skipped,
        cast(amount_total_gbp as decimal(18, 2)) as amount_total_gbp,

        -- dates
        first_payment_date,
        last_payment_date

    from source

)

select * from renamed
