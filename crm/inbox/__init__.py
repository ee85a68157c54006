"""Floor 4: the reminder, notification and inbox engine (see crm/inbox/apps.py)."""
