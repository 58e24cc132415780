"""Publishing: board pack (HTML + PDF) and strategy-review extracts, only after the gate."""
