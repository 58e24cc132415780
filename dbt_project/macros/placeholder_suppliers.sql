{#- The placeholder supplier ids (vars redacted_supplier_id, unknown_supplier_id in dbt_project.yml) as SQL
    literals: one for redacted payees, one for lines with no payee. -#}
{% macro redacted_supplier_id() -%}
'{{ var("redacted_supplier_id") }}'
{%- endmacro %}

{% macro unknown_supplier_id() -%}
'{{ var("unknown_supplier_id") }}'
{%- endmacro %}

{#- `(<redacted>, <unknown>)`, for `supplier_id [not] in {{ placeholder_supplier_ids() }}` -#}
{% macro placeholder_supplier_ids() -%}
({{ redacted_supplier_id() }}, {{ unknown_supplier_id() }})
{%- endmacro %}
