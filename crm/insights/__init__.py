"""Floor 4: the loyalty insights (see crm/insights/apps.py)."""
