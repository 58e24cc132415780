{#- UK local-government fiscal year label, April start by default: 2024-05-10 -> '2024-25'.
    start_month may be a column (per-council setting) or a literal. -#}
{% macro fiscal_year(date_column, start_month=4) -%}
(
    cast(
        extract(year from {{ date_column }})
        - case when extract(month from {{ date_column }}) < {{ start_month }} then 1 else 0 end
        as integer
    ) || '-' || lpad(
        cast(
            cast(
                extract(year from {{ date_column }})
                - case when extract(month from {{ date_column }}) < {{ start_month }} then 1 else 0 end
                + 1 as integer
            ) % 100 as varchar
        ),
        2,
        '0'
    )
)
{%- endmacro %}

{#- Month of the fiscal year, 1 = first month (April by default). -#}
{% macro fiscal_period(date_column, start_month=4) -%}
cast(
    mod(cast(extract(month from {{ date_column }}) as integer) - {{ start_month }} + 12, 12) + 1
    as integer
)
{%- endmacro %}
