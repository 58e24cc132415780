{#- Contract register rows with the resolved supplier they are let to. -#}
with

contracts as (

    select * from {{ ref('stg_contract_register__contracts') }}

),

suppliers as (

    select * from {{ ref('int_suppliers_resolved') }}

)

select
    contracts.*,
    suppliers.supplier_id
from contracts
left join suppliers
    on contracts.supplier_name = suppliers.supplier_name
