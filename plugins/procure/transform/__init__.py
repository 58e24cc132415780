"""Transform: dbt builds of the warehouse."""
