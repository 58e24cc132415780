{#- Red/amber/green for a KPI against its target (seed kpi_targets): green when it meets the
    target, amber when it misses by no more than `tolerance`, red otherwise; null when the
    KPI or its target is unknown, so a missing figure never shows as green or red. -#}
{% macro rag_status(actual, target, tolerance, direction) -%}
case
    when {{ actual }} is null or {{ target }} is null then null
    when {{ direction }} = 'lower_is_better' and {{ actual }} <= {{ target }} then 'green'
    when {{ direction }} = 'lower_is_better' and {{ actual }} <= {{ target }} + {{ tolerance }} then 'amber'
    when {{ direction }} = 'lower_is_better' then 'red'
    when {{ actual }} >= {{ target }} then 'green'
    when {{ actual }} >= {{ target }} - {{ tolerance }} then 'amber'
    else 'red'
end
{%- endmacro %}

{#- rag_status for one KPI column of mart_procurement_kpis: the KPI from `actuals`, its target, tolerance and
    direction from `targets` (columns <kpi>_target, <kpi>_tolerance, <kpi>_direction). With `coverage` (the
    share of spend the KPI is measured on), no RAG when it is below var('share_coverage_floor'): a share of
    the little that is known is not judged against a target. -#}
{% macro kpi_rag(kpi, actuals='measured', targets='targets', coverage=none) -%}
{%- if coverage is not none -%}
case when coalesce({{ coverage }}, 0) < {{ var('share_coverage_floor') }} then null else
{%- endif %}
{{ rag_status(
    actuals ~ '.' ~ kpi,
    targets ~ '.' ~ kpi ~ '_target',
    targets ~ '.' ~ kpi ~ '_tolerance',
    targets ~ '.' ~ kpi ~ '_direction'
) }}
{%- if coverage is not none %} end{% endif -%}
{%- endmacro %}
