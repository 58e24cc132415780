{#- Outward code (district) of a UK postcode, e.g. 'nr2 1nh' -> 'NR2'. Works when the
    space is missing too, since the inward code is always digit + two letters. -#}
{% macro postcode_district(column) -%}
nullif(
    regexp_replace(upper(replace({{ column }}, ' ', '')), '^([A-Z]{1,2}[0-9][0-9A-Z]?)[0-9][A-Z]{2}$', '\1'),
    ''
)
{%- endmacro %}

{#- Postcode area: the leading letters, e.g. 'NR2' -> 'NR'. -#}
{% macro postcode_area(district) -%}
regexp_replace({{ district }}, '[0-9].*$', '')
{%- endmacro %}
