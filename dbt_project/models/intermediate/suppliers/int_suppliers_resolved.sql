{#- One row per supplier name as published, with the supplier it resolves to.

    The clusters come from procure.transform.supplier_match (normalise, block, score,
    cluster; see its docstring): the name key is the resolver's, never recomputed here. A name
    the resolver has not seen (its matches are older than the data) is a supplier of its own,
    'UNRESOLVED:<name>', with match_rule not_resolved. The analyst override seed is applied last: 'split' gives a name a
    supplier of its own, then 'merge' moves the whole supplier of supplier_name into the
    supplier of merge_with. Redacted payees resolve to the redacted placeholder (var redacted_supplier_id). -#}
with

names as (

    select distinct supplier_name
    from {{ ref('int_supplier_names_keyed') }}

),

matches as (

    select * from {{ ref('stg_supplier_resolution__supplier_name_matches') }}

),

overrides as (

    select
        lower(trim(action)) as action,
        supplier_name,
        merge_with
    from {{ ref('supplier_overrides') }}

),

forced_splits as (

    select distinct supplier_name
    from overrides
    where action = 'split'

),

resolved as (

    select
        names.supplier_name,
        matches.name_key,
        case
            when matches.supplier_name is null then 'UNRESOLVED:' || names.supplier_name
            else matches.cluster_key
        end as cluster_key,
        coalesce(matches.match_rule, 'not_resolved') as match_rule
    from names
    left join matches on names.supplier_name = matches.supplier_name

),

split as (

    select
        resolved.supplier_name,
        resolved.name_key,
        case
            when forced.supplier_name is not null then 'SPLIT:' || resolved.supplier_name
            else resolved.cluster_key
        end as cluster_key,
        case when forced.supplier_name is not null then 'override_split' else resolved.match_rule end as match_rule
    from resolved
    left join forced_splits as forced on resolved.supplier_name = forced.supplier_name

),

merge_map as (

    select
        moved.cluster_key as from_cluster,
        min(target.cluster_key) as to_cluster
    from overrides
    inner join split as moved on overrides.supplier_name = moved.supplier_name
    inner join split as target on overrides.merge_with = target.supplier_name
    where
        overrides.action = 'merge'
        and moved.cluster_key is not null
        and target.cluster_key is not null
    group by moved.cluster_key

),

merged as (

    select
        split.supplier_name,
        split.name_key,
        coalesce(merge_map.to_cluster, split.cluster_key) as cluster_key,
        case when merge_map.to_cluster is not null then 'override_merge' else split.match_rule end as match_rule
    from split
    left join merge_map on split.cluster_key = merge_map.from_cluster

),

company as (

    {#- the supplier's Companies House number, when its names agree on exactly one (a row per cluster with
        any number, not a HAVING filter: PostgreSQL estimated that filter's result at one row and joined it
        by nested loop, 335 s at national size against 1.2 s) -#}
    select
        merged.cluster_key,
        case
            when count(distinct upper(evidence.company_number)) = 1 then min(upper(evidence.company_number))
        end as company_number
    from merged
    inner join {{ ref('int_supplier_names_keyed') }} as evidence
        on merged.supplier_name = evidence.supplier_name
    where evidence.company_number is not null and trim(evidence.company_number) <> ''
    group by merged.cluster_key

),

final as (

    select
        merged.supplier_name,
        merged.name_key,
        merged.cluster_key,
        merged.match_rule,
        company.company_number,
        case
            when merged.cluster_key is null then {{ redacted_supplier_id() }}
            else md5(merged.cluster_key)
        end as supplier_id
    from merged
    left join company on merged.cluster_key = company.cluster_key

)

select * from final
