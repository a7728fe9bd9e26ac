"""Reports for a person (terminal, with rich) and for a machine (JSON)."""
