"""gunicorn in production: `gunicorn crm.wsgi` (Procfile.production) reads this file from this directory.

Each value can be changed without editing it: WEB_CONCURRENCY (processes), GUNICORN_THREADS,
GUNICORN_KEEPALIVE and GUNICORN_TIMEOUT in the environment, or any option on the command line
(`--bind 0.0.0.0:8000`, `-w 4`), which wins over this file. Logging is left to gunicorn's defaults here.
"""

import os

# Processes: gunicorn's rule of thumb, two per core this process may run on, plus one.
cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
workers = int(os.environ.get("WEB_CONCURRENCY", 2 * cores + 1))
# Threaded workers: a request waiting on PostgreSQL leaves the process free for another, and they keep
# connections alive (sync workers close every connection after one response). Each thread keeps one
# persistent database connection (CONN_MAX_AGE in crm/settings.py): workers x threads per web machine.
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", 2))
# Seconds an idle client connection stays open. Behind a load balancer, set it above the balancer's own
# idle timeout (AWS: 60 s, so 75), or the balancer may send a request on a connection gunicorn is closing.
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", 5))
# A worker that has not checked in for this long is killed and replaced; a graceful restart (HUP, or
# max_requests) lets requests in progress finish for graceful_timeout seconds.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 60))
graceful_timeout = 30
# Recycle each worker after about 2,000 requests, the jitter keeping them from restarting together,
# so a slow leak in any library never grows without bound.
max_requests = 2000
max_requests_jitter = 200
# The app is loaded once, in the master, before the workers fork: a worker starts (and a recycled one
# restarts) with Django, the apps and the URLs already imported instead of spending a second or two of CPU
# on that while requests wait, and the workers share that memory. A code upgrade therefore needs a
# restart of gunicorn (or USR2 for a new master), not HUP.
preload_app = True


def pre_fork(server, worker):
    """In the master, before each fork: nothing it opened while loading the app is shared with a worker
    (a database or Redis socket used by two processes mixes their replies); the URL patterns are compiled
    once here, for every worker. Without preload_app the master has loaded nothing: nothing to do."""
    if not server.cfg.preload_app:
        return
    from django.core.cache import caches
    from django.db import connections
    from django.urls import get_resolver

    get_resolver().reverse_dict  # noqa: B018 - reading it compiles every pattern
    connections.close_all()
    caches.close_all()


# Heartbeat files in memory, not on a disk that may stall (containers); gunicorn makes them unique itself.
SHARED_MEMORY = "/dev/shm"  # noqa: S108
if os.path.isdir(SHARED_MEMORY):
    worker_tmp_dir = SHARED_MEMORY
