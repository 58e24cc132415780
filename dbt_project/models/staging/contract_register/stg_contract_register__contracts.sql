with

source as (

    select * from {{ source('contract_register', 'contracts') }}

),

renamed as (

    select
        -- ids
        md5(council_id || '|register|' || contract_ref) as contract_id,
        council_id,
        contract_ref,
        notice_id,
        supplier_company_number,
        supplier_charity_number,

        -- strings
        title,
        description,
        service_area,
        procurement_category,
        supplier_name,
        upper(trim(supplier_postcode)) as supplier_postcode,
        extension_options,
        procurement_route,
        source_file,
        source_line,

        -- numerics
        cast(total_value_gbp as decimal(18, 2)) as total_value_gbp,
        cast(annual_value_gbp as decimal(18, 2)) as annual_value_gbp,
        cast(irrecoverable_vat_gbp as decimal(18, 2)) as irrecoverable_vat_gbp,

        -- booleans
        is_sme,
        is_vcse,

        -- dates
        start_date,
        end_date,
        review_date

    from source

)

select * from renamed
