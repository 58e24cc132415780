with

source as (

    select * from {{ source('finance', 'spend_lines') }}

),

renamed as (

    select
        -- ids
        md5(council_id || '|' || file_sha256 || '|' || cast(record_index as varchar)) as spend_line_id,
        council_id,
        source_file,
        source_line,
        record_index,
        transaction_number,
        supplier_ref,
        company_number,
        charity_number,
        vat_number,

        -- strings
        body_name,
        coalesce(service_area, 'Not stated') as service_area,
        expense_type,
        description,
        supplier_name,
        proclass_code,
        proclass_label,
        capital_revenue,
        -- how the payment date is known: lines loaded before the reader recorded it had a day-level date
        coalesce(date_precision, 'day') as date_precision,
        field_warnings,

        -- numerics
        cast(amount_gbp as decimal(18, 2)) as amount_gbp,
        cast(irrecoverable_vat_gbp as decimal(18, 2)) as irrecoverable_vat_gbp,

        -- booleans
        is_redacted,
        is_credit,
        is_pcard,

        -- dates
        payment_date

    from source

)

select * from renamed
