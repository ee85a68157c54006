"""Floor 1 of the house: the site-wide pieces every app may use (see crm/kernel/apps.py)."""
