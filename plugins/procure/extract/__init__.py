"""Extract: read what councils and registers publish, exactly as published.

``spend_reader`` turns any "spend over £500" transparency file into canonical rows;
``sniff`` (bytes: compression, encoding, delimiter) and ``parse`` (cells: dates, amounts,
header names) are its helpers. The loaders in this package write those rows into the
warehouse.
"""
