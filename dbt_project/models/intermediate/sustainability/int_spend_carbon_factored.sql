{#- Spend per council, month, category and supplier (int_spend_supplier_months_summed) with the emission
    factor that applies to it, in order of preference: the supplier's own reported intensity (seed
    supplier_emission_factors), the factor of the supplier's SIC division (seeds supplier_sic_codes ->
    carbon_emission_factors), the factor of the category's SIC division (seed carbon_category_sectors; a level-2 row beats the level-1 row), else none
    ('not_measured'). Spend-based (SIC) factors are applied to spend deflated to the factor's price year
    when seed price_deflators has both years; otherwise to spend as paid (is_deflated false). -#}
with

grouped as (

    select * from {{ ref('int_spend_supplier_months_summed') }}

),

suppliers as (

    select * from {{ ref('dim_supplier') }}

),

names as (

    select * from {{ ref('int_suppliers_resolved') }}

),

factors as (

    select * from {{ ref('carbon_emission_factors') }}

),

category_sectors as (

    select * from {{ ref('carbon_category_sectors') }}

),

supplier_sic as (

    select * from {{ ref('supplier_sic_codes') }}

),

supplier_reported as (

    select * from {{ ref('supplier_emission_factors') }}

),

deflators as (

    select * from {{ ref('price_deflators') }}

),

grouped_councils as (

    select distinct council_id from grouped

),

grouped_categories as (

    select distinct
        category_l1,
        category_l2
    from grouped

),

reported_ranked as (

    -- a council's own row beats the all-councils row
    select
        grouped_keys.council_id,
        names.supplier_id,
        supplier_reported.kgco2e_per_gbp,
        supplier_reported.reporting_year,
        row_number() over (
            partition by grouped_keys.council_id, names.supplier_id
            order by
                case when coalesce(supplier_reported.council_id, '') = '' then 1 else 0 end,
                supplier_reported.reporting_year desc
        ) as rank_in_supplier
    from supplier_reported
    inner join names on supplier_reported.supplier_name = names.supplier_name
    inner join grouped_councils as grouped_keys
        on coalesce(supplier_reported.council_id, '') in ('', grouped_keys.council_id)

),

supplier_division as (

    select
        suppliers.supplier_id,
        substr(trim(supplier_sic.sic_code), 1, 2) as sic_division
    from suppliers
    inner join supplier_sic on suppliers.company_number = supplier_sic.company_number

),

category_division as (

    select
        grouped_keys.category_l1,
        grouped_keys.category_l2,
        coalesce(by_l2.sic_division, by_l1.sic_division) as sic_division
    from grouped_categories as grouped_keys
    left join category_sectors as by_l2
        on
            grouped_keys.category_l1 = by_l2.category_l1
            and grouped_keys.category_l2 = by_l2.category_l2
    left join category_sectors as by_l1
        on
            grouped_keys.category_l1 = by_l1.category_l1
            and coalesce(by_l1.category_l2, '') = ''

),

factored as (

    select
        grouped.*,
        reported.kgco2e_per_gbp as reported_factor,
        reported.reporting_year,
        supplier_factor.sic_division as supplier_sic_division,
        supplier_factor.kgco2e_per_gbp as supplier_sic_factor,
        supplier_factor.price_year as supplier_sic_price_year,
        supplier_factor.emissions_year as supplier_sic_emissions_year,
        category_factor.sic_division as category_sic_division,
        category_factor.kgco2e_per_gbp as category_sic_factor,
        category_factor.price_year as category_sic_price_year,
        category_factor.emissions_year as category_sic_emissions_year
    from grouped
    left join reported_ranked as reported
        on
            grouped.council_id = reported.council_id
            and grouped.supplier_id = reported.supplier_id
            and reported.rank_in_supplier = 1
    left join supplier_division on grouped.supplier_id = supplier_division.supplier_id
    left join factors as supplier_factor on supplier_division.sic_division = supplier_factor.sic_division
    left join category_division
        on
            grouped.category_l1 = category_division.category_l1
            and coalesce(grouped.category_l2, '') = coalesce(category_division.category_l2, '')
    left join factors as category_factor on category_division.sic_division = category_factor.sic_division

),

chosen as (

    select
        council_id,
        payment_month,
        fiscal_year,
        category_l1,
        category_l2,
        supplier_id,
        spend_gbp,
        case
            when reported_factor is not null then 'supplier_reported'
            when supplier_sic_factor is not null then 'supplier_sic'
            when category_sic_factor is not null then 'category_sic'
            else 'not_measured'
        end as method,
        case
            when reported_factor is not null then null
            when supplier_sic_factor is not null then supplier_sic_division
            else category_sic_division
        end as sic_division,
        coalesce(reported_factor, supplier_sic_factor, category_sic_factor) as kgco2e_per_gbp,
        coalesce(reporting_year, supplier_sic_emissions_year, category_sic_emissions_year) as factor_year,
        case
            when reported_factor is not null then null
            else coalesce(supplier_sic_price_year, category_sic_price_year)
        end as price_year
    from factored

),

final as (

    select
        chosen.*,
        paid_index.deflator_index is not null and factor_index.deflator_index is not null as is_deflated,
        case
            when paid_index.deflator_index is not null and factor_index.deflator_index is not null
                then chosen.spend_gbp * factor_index.deflator_index / paid_index.deflator_index
            else chosen.spend_gbp
        end as spend_in_factor_prices_gbp
    from chosen
    left join deflators as paid_index
        on cast(extract(year from chosen.payment_month) as integer) = paid_index.year
    left join deflators as factor_index on chosen.price_year = factor_index.year

)

select
    council_id,
    payment_month,
    fiscal_year,
    category_l1,
    category_l2,
    supplier_id,
    method,
    sic_division,
    cast(kgco2e_per_gbp as decimal(12, 6)) as kgco2e_per_gbp,
    cast(factor_year as integer) as factor_year,
    cast(price_year as integer) as price_year,
    is_deflated,
    cast(spend_gbp as decimal(18, 2)) as spend_gbp,
    cast(spend_in_factor_prices_gbp as decimal(18, 2)) as spend_in_factor_prices_gbp,
    cast(spend_in_factor_prices_gbp * kgco2e_per_gbp as decimal(18, 3)) as kgco2e
from final
