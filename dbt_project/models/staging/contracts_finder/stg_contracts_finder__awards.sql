with

source as (

    select * from {{ source('contracts_finder', 'notice_awards') }}

),

renamed as (

    select
        -- ids
        release_key || '|' || award_id || '|' || supplier_id as award_key,
        release_key,
        award_id,
        supplier_id as party_id,

        -- strings
        supplier_name,
        status,

        -- numerics
        cast(value_gbp as decimal(18, 2)) as value_gbp,

        -- dates
        award_date as awarded_at,
        contract_start_date,
        contract_end_date

    from source

)

select * from renamed
