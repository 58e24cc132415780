{#- Share of gross payments (credits left out, so the share stays within [0, 1]) for
    which `flag` is true, among those where it is known. Null when nothing is known:
    unknown is never counted as "no". Use inside an aggregate query. -#}
{% macro gross_share(flag, amount='amount_gbp', is_credit='is_credit') -%}
cast(
    sum(case when not {{ is_credit }} and {{ flag }} then {{ amount }} else 0 end)
    / nullif(sum(case when not {{ is_credit }} and {{ flag }} is not null then {{ amount }} else 0 end), 0)
    as decimal(9, 6)
)
{%- endmacro %}

{#- Coverage of `flag`: the share of gross payments (credits left out) for which it is known (true or false).
    A share measured on little coverage says little: the board pack shows coverage beside every share and
    mart_procurement_kpis gives no RAG below var('share_coverage_floor'). -#}
{% macro gross_coverage(flag, amount='amount_gbp', is_credit='is_credit') -%}
cast(
    sum(case when not {{ is_credit }} and {{ flag }} is not null then {{ amount }} else 0 end)
    / nullif(sum(case when not {{ is_credit }} then {{ amount }} else 0 end), 0)
    as decimal(9, 6)
)
{%- endmacro %}

{#- Share of all gross payments (credits left out) for which `flag` is known to be true: unknown counts
    in the denominator, so this is the floor of the true share. -#}
{% macro gross_share_of_all(flag, amount='amount_gbp', is_credit='is_credit') -%}
cast(
    sum(case when not {{ is_credit }} and {{ flag }} then {{ amount }} else 0 end)
    / nullif(sum(case when not {{ is_credit }} then {{ amount }} else 0 end), 0)
    as decimal(9, 6)
)
{%- endmacro %}
