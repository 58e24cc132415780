with

source as (

    select * from {{ source('council', 'councils') }}

),

renamed as (

    select
        -- ids
        council_id,

        -- strings
        council_name,
        coalesce(local_postcode_prefixes, '') as local_postcode_prefixes,

        -- numerics
        fiscal_year_start_month

    from source

)

select * from renamed
