{#- PostgreSQL tuning of the build, in the project so that it holds on any server (issue 13,
    postgres_over_duckdb). Both macros render nothing on DuckDB; dbt_project.yml runs them around every
    model. -#}

{#- After a model's table is written: its statistics, so that the models read it next are planned on them.
    Without them the planner guessed (autovacuum's analyze comes seconds too late inside one build) and
    chose sort-merge joins spilling to disk for tables of 660k rows. Views have no statistics. -#}
{% macro analyze_on_postgres() -%}
{%- if target.type == 'postgres' and config.get('materialized') in ('table', 'incremental') -%}
analyze {{ this }}
{%- endif -%}
{%- endmacro %}

{#- Before a model's statement, in its transaction (set local: the session keeps its own settings):
    no JIT compilation. The planner's cost of the big models is far above jit_above_cost, and compiling
    int_spend_lines_classified took 3.1 of its 8 s on a 660k-line warehouse, for no faster execution. -#}
{% macro postgres_session_settings() -%}
{%- if target.type == 'postgres' -%}
set local jit = off
{%- endif -%}
{%- endmacro %}
