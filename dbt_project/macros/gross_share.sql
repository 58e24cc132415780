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
