"""Before the manifest, raw.spend_files was a table keyed by file name and the spend rows were
keyed by file name too. The raw layer is rebuilt from the files, so a warehouse in that shape
drops its spend tables (the next ingest reloads them from the drop folders)."""

LEGACY_SPEND = """
select count(*) from information_schema.tables
where table_schema = 'raw' and table_name = 'spend_files' and table_type = 'BASE TABLE'
"""


def upgrade(con) -> None:
    if con.execute(LEGACY_SPEND).fetchall()[0][0]:
        con.execute("drop table raw.spend_files; drop table if exists raw.spend_lines;")
        con.execute("drop table if exists raw.spend_quarantine")
