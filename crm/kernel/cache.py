"""The shared cache's Redis backend: Django's own, made safe to share and to lose.

- clear() deletes only the keys under this cache's prefix, never the whole Redis database (FLUSHDB), so a
  cache that shares its database with Celery's broker never drops queued tasks;
- while Redis is unreachable every read is a miss and every write is skipped (logged), so pages keep
  working from PostgreSQL, as they do while the broker is down (README, Resilience). A value changed
  during the outage may be read stale for up to its timeout afterwards;
- a write Redis refuses for want of memory (maxmemory reached under `noeviction`) deletes the key instead, so the
  value from before the write is never read as if the write had happened (a version key then comes back as a
  new one: everything kept under it is retired, as a bump would);
- a request reads ahead (`reading_ahead`): the keys every signed-in page reads of its user (their row,
  permissions, locations, unread count, the business's settings: each module names its own with
  `read_ahead`) come back in one MGET, not one round trip each.
"""

import contextlib
import contextvars
import functools
import logging
from collections.abc import Callable, Iterable

from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import OutOfMemoryError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger(__name__)
UNREACHABLE = (RedisConnectionError, RedisTimeoutError)


def _or(fallback, *, replaces: Callable | None = None):
    """Run the cache operation; while Redis is unreachable, log it and return `fallback(*args)` instead.

    A write Redis refuses for memory is skipped the same way; if it would have replaced values (`replaces(*args)`
    names their keys), those keys are deleted, which Redis allows when full, so none is read stale.
    """

    def decorate(method):
        @functools.wraps(method)
        def tolerant(self, *args, **kwargs):
            try:
                return method(self, *args, **kwargs)
            except UNREACHABLE as error:
                log.warning("The shared cache (Redis) is unreachable; %s skipped: %s", method.__name__, error)
                return fallback(*args, **kwargs)
            except OutOfMemoryError as error:
                log.warning("The shared cache (Redis) is out of memory; %s skipped: %s", method.__name__, error)
                if replaces is not None:
                    self.delete_many(list(replaces(*args, **kwargs)))
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


# What this request read ahead: key -> the value's bytes as Redis returned them (ABSENT if it had none), until
# the request writes the key. None outside a request that reads ahead (tasks, commands, direct calls).
_ahead: contextvars.ContextVar[dict | None] = contextvars.ContextVar("crm_cache_read_ahead", default=None)
ABSENT = object()


def _take(key, version):
    """The bytes read ahead for `key` (ABSENT when Redis had none); None when it was not read ahead."""
    ahead = _ahead.get()
    if not ahead or version is not None:
        return None
    return ahead.get(key)


def _forget(*keys) -> None:
    """Keys this request writes are read from Redis again, never from what was read before the write."""
    ahead = _ahead.get()
    if ahead:
        for key in keys:
            ahead.pop(key, None)


class SharedRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = KeptClientRedisCacheClient

    def get(self, key, default=None, version=None):
        taken = _take(key, version)
        if taken is not None:
            # Unpickled on every read, as a read from Redis is: no two readers share one object.
            return default if taken is ABSENT else self._cache._serializer.loads(taken)
        return self._get(key, default, version)

    @_or(lambda key, default=None, version=None: default)
    def _get(self, key, default=None, version=None):
        return super().get(key, default, version)

    def get_many(self, keys, version=None):
        found, rest = {}, []
        for key in keys:
            taken = _take(key, version)
            if taken is None:
                rest.append(key)
            elif taken is not ABSENT:
                found[key] = self._cache._serializer.loads(taken)
        if rest:
            found.update(self._get_many(rest, version))
        return found

    @_or(lambda keys, version=None: {})
    def _get_many(self, keys, version=None):
        return super().get_many(keys, version)

    @_or(lambda *args, **kwargs: False)
    def has_key(self, key, version=None):
        return super().has_key(key, version)

    @_or(lambda *args, **kwargs: False)
    def add(self, key, *args, **kwargs):
        _forget(key)
        return super().add(key, *args, **kwargs)

    @_or(lambda *args, **kwargs: None, replaces=lambda key, *args, **kwargs: [key])
    def set(self, key, *args, **kwargs):
        _forget(key)
        return super().set(key, *args, **kwargs)

    @_or(lambda *args, **kwargs: False)
    def touch(self, *args, **kwargs):
        return super().touch(*args, **kwargs)

    @_or(lambda *args, **kwargs: False)
    def delete(self, key, *args, **kwargs):
        _forget(key)
        return super().delete(key, *args, **kwargs)

    def delete_or_raise(self, key, version=None):
        """Delete `key`, raising (redis ConnectionError or TimeoutError) while Redis is unreachable, not skipping."""
        _forget(key)
        return super().delete(key, version)

    @_or(lambda data, *args, **kwargs: list(data), replaces=lambda data, *args, **kwargs: list(data))
    def set_many(self, data, *args, **kwargs):
        _forget(*data)
        return super().set_many(data, *args, **kwargs)

    @_or(lambda *args, **kwargs: None)
    def delete_many(self, keys, *args, **kwargs):
        keys = list(keys)
        _forget(*keys)
        return super().delete_many(keys, *args, **kwargs)

    def keep_ahead(self, values: dict) -> None:
        """Inside a request that reads ahead, answer later reads of these keys with these values (ones just read
        from Redis or made there) until this process writes them; a None value is not kept."""
        ahead = _ahead.get()
        if ahead is not None:
            for key, value in values.items():
                if value is not None and key not in ahead:
                    ahead[key] = self._cache._serializer.dumps(value)

    @_or(lambda keys: {})
    def _raw_many(self, keys) -> dict:
        """The keys' values as Redis holds them (pickled), in one MGET; ABSENT for a key it has no value for."""
        made = [self.make_and_validate_key(key) for key in keys]
        values = self._cache.get_client(None).mget(made)
        return {key: ABSENT if value is None else value for key, value in zip(keys, values, strict=True)}

    def incr(self, key, *args, **kwargs):
        _forget(key)
        return super().incr(key, *args, **kwargs)

    def decr(self, key, *args, **kwargs):
        _forget(key)
        return super().decr(key, *args, **kwargs)

    @_or(lambda *args, **kwargs: None)
    def clear(self):
        """Delete this cache's own keys (its prefix), in batches; leave the rest of the Redis database alone."""
        if ahead := _ahead.get():
            ahead.clear()
        client = self._cache.get_client(write=True)
        batch = []
        for key in client.scan_iter(match=f"{self.key_prefix}:*", count=1000):
            batch.append(key)
            if len(batch) == 1000:
                client.delete(*batch)
                batch = []
        if batch:
            client.delete(*batch)


# Reading ahead: each module that reads a key of the signed-in user on most pages names it here, once.
_READ_AHEAD: list[Callable[[object], Iterable[str]]] = []


def read_ahead(keys_for: Callable[[object], Iterable[str]]) -> Callable[[object], Iterable[str]]:
    """Register `keys_for(user_pk)`: keys most signed-in pages read, fetched with the others in one MGET."""
    _READ_AHEAD.append(keys_for)
    return keys_for


@contextlib.contextmanager
def reading_ahead(user_pk):
    """For the block (a request by this user), answer reads of each registered key from one MGET at its start:
    their values as of the request's start, as if each had been read first thing.

    A key the block writes (set, add, delete, a bump, from this process) is read from Redis again afterwards.
    Only the shared Redis cache reads ahead; with another cache this does nothing.
    """
    from django.core.cache import caches

    cache = caches["default"]
    if user_pk is None or not isinstance(cache, SharedRedisCache):
        yield
        return
    keys = list(dict.fromkeys(key for keys_for in _READ_AHEAD for key in keys_for(user_pk)))
    token = _ahead.set(cache._raw_many(keys) if keys else {})
    try:
        yield
    finally:
        _ahead.reset(token)


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
    None for a key while the cache cannot be reached. Inside a request that reads ahead, a version read once is
    read from there for the rest of the request (as a key read ahead is: until this process writes it)."""
    from django.core.cache import cache, caches

    found = cache.get_many(list(version_keys))
    versions = [_current(key, found.get(key)) for key in version_keys]
    shared = caches["default"]
    if isinstance(shared, SharedRedisCache):
        shared.keep_ahead(dict(zip(version_keys, versions, strict=True)))
    return versions


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
