{#- Contracts awarded without competition (waivers and direct awards), one row per contract: a register route
    or a Contracts Finder / FTS procurement method that says so (macro is_without_competition). value_share is
    the contract's share of the value of all the council's contracts that state one. -#}
with

contracts as (

    select * from {{ ref('int_contracts_unioned') }}

),

council_value as (

    select
        council_id,
        sum(total_value_gbp) as total_value_gbp
    from contracts
    group by council_id

),

final as (

    select
        contracts.council_id,
        contracts.contract_id,
        contracts.contract_source,
        contracts.contract_ref,
        contracts.title,
        coalesce(contracts.supplier_id, {{ unknown_supplier_id() }}) as supplier_id,
        contracts.supplier_name,
        contracts.procurement_route,
        contracts.procurement_category,
        cast(contracts.total_value_gbp as decimal(18, 2)) as contract_value_gbp,
        contracts.start_date,
        contracts.end_date,
        cast(contracts.total_value_gbp / nullif(council_value.total_value_gbp, 0) as decimal(9, 6)) as value_share
    from contracts
    inner join council_value on contracts.council_id = council_value.council_id
    where {{ is_without_competition('contracts.procurement_route') }}

)

select * from final
