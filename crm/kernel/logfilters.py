"""Logging filters: what the access logs must not keep."""

from __future__ import annotations

import logging
import re
from collections.abc import MutableMapping

# The query parameters that carry what staff typed into a search box (names, emails, phone numbers).
SEARCH_PARAMETERS = ("q",)
_SEARCH = re.compile(r"(?P<key>(?:^|(?<=[?&;]))(?:" + "|".join(SEARCH_PARAMETERS) + r")=)[^&;\s\"]*")
HIDDEN = "[hidden]"


def hide_search_terms(text: str) -> str:
    """Return a request line or query string with the values of search parameters hidden."""
    return _SEARCH.sub(lambda match: match.group("key") + HIDDEN, text)


class HideSearchTerms(logging.Filter):
    """Hide search terms in request lines: django.server's ("GET /customers/?q=anna HTTP/1.1" as its
    first argument) and gunicorn.access's (the atoms r, q and U of its mapping of arguments)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, MutableMapping):
            for key in ("r", "q", "U"):
                if isinstance(args.get(key), str):
                    args[key] = hide_search_terms(args[key])
        elif isinstance(args, tuple) and args:
            record.args = tuple(hide_search_terms(arg) if isinstance(arg, str) else arg for arg in args)
        elif isinstance(record.msg, str):
            record.msg = hide_search_terms(record.msg)
        return True
