{#- A procurement route that had no competition: a waiver or exemption, a direct award or single-source award on
    the register, or OCDS procurementMethod 'limited' / 'direct' on a notice. -#}
{% macro is_without_competition(route) -%}
(
    lower({{ route }}) like '%waiver%'
    or lower({{ route }}) like '%exempt%'
    or lower({{ route }}) like '%direct award%'
    or lower({{ route }}) like '%single source%'
    or lower({{ route }}) like '%single tender%'
    or lower(trim({{ route }})) in ('limited', 'direct')
)
{%- endmacro %}
