"""The shared cache's Redis backend: Django's own, made safe to share and to lose.

- clear() deletes only the keys under this cache's prefix, never the whole Redis database (FLUSHDB), so a
  cache that shares its database with Celery's broker never drops queued tasks;
- while Redis is unreachable every read is a miss and every write is skipped (logged), so pages keep
  working from PostgreSQL, as they do while the broker is down (README, Resilience). A value changed
  during the outage may be read stale for up to its timeout afterwards.
"""

import functools
import logging

from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger(__name__)
UNREACHABLE = (RedisConnectionError, RedisTimeoutError)


def _or(fallback):
    """Run the cache operation; while Redis is unreachable, log it and return `fallback(*args)` instead."""

    def decorate(method):
        @functools.wraps(method)
        def tolerant(self, *args, **kwargs):
            try:
                return method(self, *args, **kwargs)
            except UNREACHABLE as error:
                log.warning("The shared cache (Redis) is unreachable; %s skipped: %s", method.__name__, error)
                return fallback(*args, **kwargs)

        return tolerant

    return decorate


class KeptClientRedisCacheClient(RedisCacheClient):
    """Django's Redis client maker, keeping one redis.Redis per connection pool instead of building one per call.

    Building a redis.Redis fills its table of ~200 response callbacks; at two or three cache reads a page that was
    a tenth of a bare page's CPU. A redis.Redis is safe to share between threads (the pool hands out connections)
    and its pool reconnects after a fork.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None or client.connection_pool is not pool:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class SharedRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = KeptClientRedisCacheClient

    @_or(lambda key, default=None, version=None: default)
    def get(self, key, default=None, version=None):
        return super().get(key, default, version)

    @_or(lambda keys, version=None: {})
    def get_many(self, keys, version=None):
        return super().get_many(keys, version)

    @_or(lambda *args, **kwargs: False)
    def has_key(self, key, version=None):
        return super().has_key(key, version)

    @_or(lambda *args, **kwargs: False)
    def add(self, *args, **kwargs):
        return super().add(*args, **kwargs)

    @_or(lambda *args, **kwargs: None)
    def set(self, *args, **kwargs):
        return super().set(*args, **kwargs)

    @_or(lambda *args, **kwargs: False)
    def touch(self, *args, **kwargs):
        return super().touch(*args, **kwargs)

    @_or(lambda *args, **kwargs: False)
    def delete(self, *args, **kwargs):
        return super().delete(*args, **kwargs)

    def delete_or_raise(self, key, version=None):
        """Delete `key`, raising (redis ConnectionError or TimeoutError) while Redis is unreachable, not skipping."""
        return super().delete(key, version)

    @_or(lambda *args, **kwargs: [])
    def set_many(self, *args, **kwargs):
        return super().set_many(*args, **kwargs)

    @_or(lambda *args, **kwargs: None)
    def delete_many(self, *args, **kwargs):
        return super().delete_many(*args, **kwargs)

    @_or(lambda *args, **kwargs: None)
    def clear(self):
        """Delete this cache's own keys (its prefix), in batches; leave the rest of the Redis database alone."""
        client = self._cache.get_client(write=True)
        batch = []
        for key in client.scan_iter(match=f"{self.key_prefix}:*", count=1000):
            batch.append(key)
            if len(batch) == 1000:
                client.delete(*batch)
                batch = []
        if batch:
            client.delete(*batch)


# Values kept under a version: one key names the current version; each value is stored with the version it was
# read under, and is used only while that is still the current one. Changing the version (bump) retires every
# value under it at once, however many there are, without knowing their keys.


def versioned(version_key: str, key: str, load, timeout: int):
    """Return the value cached under `key` for the current version of `version_key`, or load() it and keep it.

    One round trip on a hit. The version is read before load(), so a change that commits while load() runs
    (and bumps the version afterwards) cannot leave its stale result standing as current.
    """
    from django.core.cache import cache

    found = cache.get_many([version_key, key])
    version, entry = found.get(version_key), found.get(key)
    if version is not None and entry is not None and entry[0] == version:
        return entry[1]
    version = _current(version_key, version)
    value = load()
    if version is not None:
        cache.set(key, (version, value), timeout)
    return value


def current_versions(*version_keys: str) -> list[str | None]:
    """The current value of each version key, one made for any that has none yet (never an old one);
    None for a key while the cache cannot be reached."""
    from django.core.cache import cache

    found = cache.get_many(list(version_keys))
    return [_current(key, found.get(key)) for key in version_keys]


def _current(version_key: str, found: str | None) -> str | None:
    """`found` (the key's value as read), or a new version stored under the key if it had none."""
    from django.core.cache import cache

    if found is not None:
        return found
    fresh = _new_version()
    return fresh if cache.add(version_key, fresh, None) else cache.get(version_key)


def bump(*version_keys: str) -> None:
    """Retire every value kept under each of `version_keys`: now, and again once the current transaction commits.

    Now, so the rest of this request (and any other) reads what it is changing; after the commit as well, so a
    request that read the old rows while the transaction was still open cannot leave them standing.
    """
    from django.core.cache import cache
    from django.db import transaction

    def renew():
        cache.set_many({key: _new_version() for key in version_keys}, None)

    renew()
    transaction.on_commit(renew)


def _new_version() -> str:
    import uuid

    return uuid.uuid4().hex


def forget_cached_session(session) -> bool:
    """Delete the shared cache's copy of a session before it is ended; False if the cache cannot be reached.

    A cached_db session is read from the cache first. Ending it while Redis is unreachable would delete its row
    but leave the copy, trusted again once Redis is back; so a sign-out deletes the copy first, and fails closed.
    """
    store = getattr(session, "_cache", None)
    if store is None or session.session_key is None:
        return True  # not a cached session, or nothing stored yet
    delete = getattr(store, "delete_or_raise", store.delete)
    try:
        delete(session.cache_key_prefix + session.session_key)
    except UNREACHABLE as error:
        log.warning("The shared cache (Redis) is unreachable; sign-out refused: %s", error)
        return False
    return True
