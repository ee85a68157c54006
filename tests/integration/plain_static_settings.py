"""The app's settings (crm.settings) with static files named plainly instead of by collectstatic's manifest.

For servers a test starts with DEBUG off only to exercise pages, not static files: they then need no
collectstatic run (a minute of compressing files on a busy machine). tests/crm/test_deploy_headers.py
serves the real thing.
"""

from crm.settings import *  # noqa: F403

STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
