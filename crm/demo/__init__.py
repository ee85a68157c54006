"""Demo and scale data for every app (management commands only)."""
