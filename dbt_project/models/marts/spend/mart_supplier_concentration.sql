{#- How concentrated each category's spend is, per council and fiscal year.

    Measured on each supplier's net spend in the category, over identified suppliers with a positive
    net spend (redacted and unstated payees cannot be told apart, so they are left out).
    hhi = sum of squared percentage shares (0-10,000; above 2,500 is highly concentrated, as the CMA uses it).
    Tail suppliers are those outside the smallest set of largest suppliers that together make 80% of the spend. -#}
with

spend as (

    select * from {{ ref('fct_spend') }}

),

supplier_spend as (

    select
        council_id,
        fiscal_year,
        category_l1,
        category_l2,
        supplier_id,
        sum(amount_gbp) as spend_gbp
    from spend
    where supplier_id not in {{ placeholder_supplier_ids() }}
    group by council_id, fiscal_year, category_l1, category_l2, supplier_id

),

ranked as (

    select
        council_id,
        fiscal_year,
        category_l1,
        category_l2,
        supplier_id,
        spend_gbp,
        spend_gbp / sum(spend_gbp) over (partition by council_id, fiscal_year, category_l1, category_l2) as share,
        row_number() over (
            partition by council_id, fiscal_year, category_l1, category_l2
            order by spend_gbp desc, supplier_id asc
        ) as rank_in_category,
        sum(spend_gbp) over (
            partition by council_id, fiscal_year, category_l1, category_l2
            order by spend_gbp desc, supplier_id asc
            rows between unbounded preceding and 1 preceding
        ) as spend_before_gbp
    from supplier_spend
    where spend_gbp > 0

),

flagged as (

    select
        *,
        coalesce(spend_before_gbp, 0)
        >= 0.8 * sum(spend_gbp) over (partition by council_id, fiscal_year, category_l1, category_l2) as is_tail
    from ranked

),

final as (

    select
        council_id,
        fiscal_year,
        category_l1,
        category_l2,
        cast(sum(spend_gbp) as decimal(18, 2)) as total_spend_gbp,
        cast(count(*) as bigint) as supplier_count,
        max(case when rank_in_category = 1 then supplier_id end) as top_supplier_id,
        cast(max(case when rank_in_category = 1 then spend_gbp end) as decimal(18, 2)) as top_supplier_spend_gbp,
        cast(max(case when rank_in_category = 1 then share end) as decimal(9, 6)) as top_supplier_share,
        cast(sum(case when rank_in_category <= 3 then share else 0 end) as decimal(9, 6)) as top3_supplier_share,
        cast(sum((100 * share) * (100 * share)) as decimal(12, 2)) as hhi,
        case
            when sum((100 * share) * (100 * share)) > 2500 then 'high'
            when sum((100 * share) * (100 * share)) >= 1500 then 'moderate'
            else 'unconcentrated'
        end as concentration_band,
        cast(sum(case when is_tail then 1 else 0 end) as bigint) as tail_supplier_count,
        cast(sum(case when is_tail then spend_gbp else 0 end) as decimal(18, 2)) as tail_spend_gbp
    from flagged
    group by council_id, fiscal_year, category_l1, category_l2

)

select * from final
