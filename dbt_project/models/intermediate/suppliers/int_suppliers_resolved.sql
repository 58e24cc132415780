{#- One row per supplier name key, with the supplier it resolves to.

    Rules, in order: names the council's finance system files under one supplier
    reference are one supplier (the most used spelling leads); names sharing a
    Companies House number are one supplier; otherwise the normalised name is the key. -#}
with

names as (

    select * from {{ ref('int_supplier_names_keyed') }}

),

ref_keys as (

    select
        council_id,
        supplier_ref,
        name_key,
        row_number() over (
            partition by council_id, supplier_ref
            order by sum(line_count) desc, name_key
        ) as rank_in_ref
    from names
    where evidence_source = 'spend' and supplier_ref is not null
    group by council_id, supplier_ref, name_key

),

key_map as (

    select
        variant.name_key,
        min(lead.name_key) as resolved_key
    from ref_keys as variant
    inner join ref_keys as lead
        on
            variant.council_id = lead.council_id
            and variant.supplier_ref = lead.supplier_ref
            and lead.rank_in_ref = 1
    group by variant.name_key

),

keyed as (

    select distinct
        names.name_key,
        coalesce(key_map.resolved_key, names.name_key) as resolved_key
    from names
    left join key_map on names.name_key = key_map.name_key

),

company as (

    select
        keyed.resolved_key,
        min(names.company_number) as company_number
    from keyed
    inner join names on keyed.name_key = names.name_key
    where names.company_number is not null and trim(names.company_number) <> ''
    group by keyed.resolved_key

),

final as (

    select
        keyed.name_key,
        keyed.resolved_key,
        company.company_number,
        md5(
            case
                when company.company_number is not null then 'CH:' || upper(company.company_number)
                else 'NAME:' || keyed.resolved_key
            end
        ) as supplier_id
    from keyed
    left join company on keyed.resolved_key = company.resolved_key

)

select * from final
