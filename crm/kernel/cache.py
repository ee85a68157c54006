"""The shared cache's Redis backend: Django's own, made safe to share and to lose.

- clear() deletes only the keys under this cache's prefix, never the whole Redis database (FLUSHDB), so a
  cache that shares its database with Celery's broker never drops queued tasks;
- while Redis is unreachable every read is a miss and every write is skipped (logged), so pages keep
  working from PostgreSQL, as they do while the broker is down (README, Resilience). A value changed
  during the outage may be read stale for up to its timeout afterwards.
"""

import functools
import logging

from django.core.cache.backends.redis import RedisCache
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


class SharedRedisCache(RedisCache):
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
