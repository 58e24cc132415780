{#- One row per resolved supplier, with the evidence behind each flag.
    A flag is null when no source says either way: unknown is never "no".
    Evidence order for every flag: the analyst override seed (supplier_flag_overrides), then
    the contract register, then Contracts Finder / FTS party details (postcode field, or a
    postcode written in the street address); a charity number also makes a supplier VCSE. -#}
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
    inner join resolved on names.supplier_name = resolved.supplier_name
    where resolved.supplier_id <> {{ redacted_supplier_id() }}

),

flag_overrides as (

    select
        resolved.supplier_id,
        overrides.flag,
        bool_or(overrides.flag_value) as flag_value,
        min(upper(trim(overrides.postcode))) as postcode,
        min(overrides.evidence) as evidence
    from {{ ref('supplier_flag_overrides') }} as overrides
    inner join resolved on overrides.supplier_name = resolved.supplier_name
    group by resolved.supplier_id, overrides.flag

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

variants as (

    select
        supplier_id,
        string_agg(supplier_name, ' | ' order by supplier_name) as name_variants
    from spelling
    group by supplier_id

),

postcode as (

    select
        supplier_id,
        postcode,
        evidence_source,
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
        min(case when is_vcse is not null then evidence_source end) as vcse_evidence,
        max(case when {{ is_cio_number('company_number') }} then 1 else 0 end) = 1 as has_cio_number,
        max(case when {{ is_cic_name('supplier_name') }} then 1 else 0 end) = 1 as has_cic_name,
        max(case when {{ is_public_body_name('supplier_name') }} then 1 else 0 end) = 1 as has_public_body_name
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
        variants.name_variants,
        flags.company_number,
        flags.charity_number,
        coalesce(local_override.postcode, postcode.postcode) as postcode,
        {{ postcode_district('coalesce(local_override.postcode, postcode.postcode)') }} as postcode_district,
        case
            when local_override.postcode is not null then 'override: ' || local_override.evidence
            when postcode.postcode is not null then postcode.evidence_source || ' postcode'
        end as postcode_evidence,
        local_override.flag_value as local_override_value,
        local_override.evidence as local_override_evidence,
        main_council.council_id as main_council_id,
        coalesce(
            sme_override.flag_value, flags.is_sme, case when flags.has_public_body_name then false end
        ) as is_sme,
        case
            when sme_override.flag_value is not null then 'override: ' || sme_override.evidence
            when flags.is_sme is not null then flags.sme_evidence
            when flags.has_public_body_name then 'name: public body'
        end as sme_evidence,
        case
            when vcse_override.flag_value is not null then vcse_override.flag_value
            when flags.has_charity_number then true
            when flags.any_vcse_flag is not null then flags.any_vcse_flag
            when flags.has_cio_number or flags.has_cic_name then true
            when flags.has_public_body_name then false
        end as is_vcse,
        case
            when vcse_override.flag_value is not null then 'override: ' || vcse_override.evidence
            when flags.has_charity_number then 'charity_number'
            when flags.any_vcse_flag is not null then flags.vcse_evidence
            when flags.has_cio_number then 'company_number: charitable incorporated organisation'
            when flags.has_cic_name then 'name: community interest company'
            when flags.has_public_body_name then 'name: public body'
        end as vcse_evidence,
        payments.first_payment_date,
        payments.last_payment_date,
        coalesce(payments.payment_line_count, 0) as payment_line_count,
        coalesce(payments.total_spend_gbp, 0) as total_spend_gbp
    from flags
    inner join spelling on flags.supplier_id = spelling.supplier_id and spelling.rank_in_supplier = 1
    inner join variants on flags.supplier_id = variants.supplier_id
    left join postcode on flags.supplier_id = postcode.supplier_id and postcode.rank_in_supplier = 1
    left join payments on flags.supplier_id = payments.supplier_id
    left join main_council on flags.supplier_id = main_council.supplier_id and main_council.rank_in_supplier = 1
    left join flag_overrides as local_override
        on flags.supplier_id = local_override.supplier_id and local_override.flag = 'local'
    left join flag_overrides as sme_override
        on flags.supplier_id = sme_override.supplier_id and sme_override.flag = 'sme'
    left join flag_overrides as vcse_override
        on flags.supplier_id = vcse_override.supplier_id and vcse_override.flag = 'vcse'

),

placeholders as (

    select
        payments.supplier_id,
        case
            when payments.supplier_id = {{ redacted_supplier_id() }} then 'Redacted payees (personal data)'
            else 'Unidentified payees'
        end as canonical_name,
        0 as name_variant_count,
        cast(null as varchar) as name_variants,
        cast(null as varchar) as company_number,
        cast(null as varchar) as charity_number,
        cast(null as varchar) as postcode,
        cast(null as varchar) as postcode_district,
        cast(null as varchar) as postcode_evidence,
        cast(null as boolean) as local_override_value,
        cast(null as varchar) as local_override_evidence,
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
    where payments.supplier_id in {{ placeholder_supplier_ids() }}

),

unioned as (

    select * from real_suppliers
    union all
    select * from placeholders

),

located as (

    select
        unioned.*,
        {{ is_local_postcode('unioned.postcode_district', 'councils.local_postcode_prefixes') }}
            as is_local_by_postcode,
        (
            select string_agg(every_council.council_id, ',' order by every_council.council_id)
            from councils as every_council
            where {{ is_local_postcode('unioned.postcode_district', 'every_council.local_postcode_prefixes') }}
        ) as local_council_ids
    from unioned
    left join councils on unioned.main_council_id = councils.council_id

),

final as (

    select
        supplier_id,
        canonical_name,
        supplier_id in {{ placeholder_supplier_ids() }} as is_placeholder,
        cast(name_variant_count as bigint) as name_variant_count,
        name_variants,
        company_number,
        charity_number,
        postcode,
        postcode_district,
        coalesce(local_override_value, is_local_by_postcode) as is_local,
        local_override_value as is_local_override,
        local_council_ids,
        case
            when local_override_value is not null then 'override: ' || local_override_evidence
            when is_local_by_postcode is not null then postcode_evidence
        end as local_evidence,
        is_sme,
        sme_evidence,
        is_vcse,
        vcse_evidence,
        first_payment_date,
        last_payment_date,
        cast(payment_line_count as bigint) as payment_line_count,
        cast(total_spend_gbp as decimal(18, 2)) as total_spend_gbp
    from located

)

select * from final
