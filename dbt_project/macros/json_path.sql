{#- JSON helpers that read the same OCDS release text on DuckDB and PostgreSQL.
    json_path_items: one row per element a JSONPath (with [*] wildcards) reaches, for a select list.
    json_path_text: the text of the first value a JSONPath reaches in a JSON value, or null. -#}
{% macro json_path_items(json_column, path) -%}
    {{ return(adapter.dispatch('json_path_items')(json_column, path)) }}
{%- endmacro %}

{% macro default__json_path_items(json_column, path) -%}
unnest(json_extract(cast({{ json_column }} as json), '{{ path }}'))
{%- endmacro %}

{% macro postgres__json_path_items(json_column, path) -%}
jsonb_path_query(cast({{ json_column }} as jsonb), '{{ path }}')
{%- endmacro %}

{% macro json_path_text(json_value, path) -%}
    {{ return(adapter.dispatch('json_path_text')(json_value, path)) }}
{%- endmacro %}

{% macro default__json_path_text(json_value, path) -%}
json_extract_string(cast({{ json_value }} as json), '{{ path }}')
{%- endmacro %}

{% macro postgres__json_path_text(json_value, path) -%}
(jsonb_path_query_first(cast({{ json_value }} as jsonb), '{{ path }}') #>> '{}')
{%- endmacro %}
