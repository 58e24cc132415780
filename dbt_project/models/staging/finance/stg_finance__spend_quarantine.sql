with

source as (

    select * from {{ source('finance', 'spend_quarantine') }}

),

renamed as (

    select
        -- ids
        council_id,
        source_file,
        file_sha256,

        -- strings
        field as rejected_field,
        reject_reason,
        raw_record,
        run_id,

        -- numerics
        source_line,
        record_index

    from source

)

select * from renamed
