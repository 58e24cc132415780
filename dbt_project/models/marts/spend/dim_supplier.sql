{#- One row per resolved supplier, with the evidence behind each flag.
    A flag is null when no source says either way: unknown is never "no". -#}
with

names as (

    select * from {{ ref('int_supplier_names_keyed') }}

),

resolved as (

    select * from {{ ref('int_suppliers_resolved') }}

),

lines as (

    select * from {{ ref('int_spend_lines_classified') }}

),

councils as (

    select * from {{ ref('stg_council__councils') }}

),

evidence as (

    select
        resolved.supplier_id,
        names.*
    from names
    inner join resolved on names.name_key = resolved.name_key

),

spelling as (

    select
        supplier_id,
        supplier_name,
        row_number() over (
            partition by supplier_id
            order by sum(line_count) desc, count(*) desc, supplier_name
        ) as rank_in_supplier
    from evidence
    group by supplier_id, supplier_name

),

postcode as (

    select
        supplier_id,
        postcode,
        row_number() over (
            partition by supplier_id
            order by case evidence_source when 'contract_register' then 1 else 2 end, postcode
        ) as rank_in_supplier
    from evidence
    where postcode is not null and postcode <> ''

),

flags as (

    select
        supplier_id,
        count(distinct supplier_name) as name_variant_count,
        min(company_number) as company_number,
        min(charity_number) as charity_number,
        bool_or(is_sme) as is_sme,
        bool_or(is_vcse) as any_vcse_flag,
        max(case when charity_number is not null then 1 else 0 end) = 1 as has_charity_number,
        min(case when is_sme is not null then evidence_source end) as sme_evidence,
        min(case when is_vcse is not null then evidence_source end) as vcse_evidence
    from evidence
    group by supplier_id

),

payments as (

    select
        supplier_id,
        min(payment_date) as first_payment_date,
        max(payment_date) as last_payment_date,
        count(*) as payment_line_count,
        sum(amount_gbp) as total_spend_gbp
    from lines
    group by supplier_id

),

main_council as (

    select
        supplier_id,
        council_id,
        row_number() over (partition by supplier_id order by sum(amount_gbp) desc, council_id) as rank_in_supplier
    from lines
    group by supplier_id, council_id

),

real_suppliers as (

    select
        flags.supplier_id,
        spelling.supplier_name as canonical_name,
        flags.name_variant_count,
        flags.company_number,
        flags.charity_number,
        postcode.postcode,
        {{ postcode_district('postcode.postcode') }} as postcode_district,
        main_council.council_id as main_council_id,
        flags.is_sme,
        flags.sme_evidence,
        case
            when flags.has_charity_number then true
            else flags.any_vcse_flag
        end as is_vcse,
        case when flags.has_charity_number then 'charity_number' else flags.vcse_evidence end as vcse_evidence,
        payments.first_payment_date,
        payments.last_payment_date,
        coalesce(payments.payment_line_count, 0) as payment_line_count,
        coalesce(payments.total_spend_gbp, 0) as total_spend_gbp
    from flags
    inner join spelling on flags.supplier_id = spelling.supplier_id and spelling.rank_in_supplier = 1
    left join postcode on flags.supplier_id = postcode.supplier_id and postcode.rank_in_supplier = 1
    left join payments on flags.supplier_id = payments.supplier_id
    left join main_council on flags.supplier_id = main_council.supplier_id and main_council.rank_in_supplier = 1

),

placeholders as (

    select
        payments.supplier_id,
        case payments.supplier_id when 'redacted' then 'Redacted payee' else 'Payee not stated' end as canonical_name,
        0 as name_variant_count,
        cast(null as varchar) as company_number,
        cast(null as varchar) as charity_number,
        cast(null as varchar) as postcode,
        cast(null as varchar) as postcode_district,
        cast(null as varchar) as main_council_id,
        cast(null as boolean) as is_sme,
        cast(null as varchar) as sme_evidence,
        cast(null as boolean) as is_vcse,
        cast(null as varchar) as vcse_evidence,
        payments.first_payment_date,
        payments.last_payment_date,
        payments.payment_line_count,
        payments.total_spend_gbp
    from payments
    where payments.supplier_id in ('redacted', 'unknown')

),

unioned as (

    select * from real_suppliers
    union all
    select * from placeholders

),

final as (

    select
        unioned.supplier_id,
        unioned.canonical_name,
        unioned.name_variant_count,
        unioned.company_number,
        unioned.charity_number,
        unioned.postcode,
        unioned.postcode_district,
        case
            when unioned.postcode_district is null or coalesce(councils.local_postcode_prefixes, '') = '' then null
            when
                ',' || councils.local_postcode_prefixes || ',' like '%,' || unioned.postcode_district || ',%'
                or ',' || councils.local_postcode_prefixes || ','
                like '%,' || {{ postcode_area('unioned.postcode_district') }} || ',%'
                then true
            else false
        end as is_local,
        case when unioned.postcode_district is not null then 'postcode' end as local_evidence,
        unioned.is_sme,
        unioned.sme_evidence,
        unioned.is_vcse,
        unioned.vcse_evidence,
        unioned.first_payment_date,
        unioned.last_payment_date,
        cast(unioned.payment_line_count as bigint) as payment_line_count,
        cast(unioned.total_spend_gbp as decimal(18, 2)) as total_spend_gbp
    from unioned
    left join councils on unioned.main_council_id = councils.council_id

)

select * from final
