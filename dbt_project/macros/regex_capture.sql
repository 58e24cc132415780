{#- First capture group of a POSIX regular expression, or null when it does not match.
    DuckDB: regexp_extract (returns '' on no match, so nullif); PostgreSQL: substring(... from ...). -#}
{% macro regex_capture(column, pattern) -%}
    {{ return(adapter.dispatch('regex_capture')(column, pattern)) }}
{%- endmacro %}

{% macro default__regex_capture(column, pattern) -%}
nullif(regexp_extract({{ column }}, '{{ pattern }}', 1), '')
{%- endmacro %}

{% macro postgres__regex_capture(column, pattern) -%}
nullif(substring({{ column }} from '{{ pattern }}'), '')
{%- endmacro %}
