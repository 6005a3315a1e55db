"""The lazy, thread-safe client set-up that every HTTP provider needs, written once.

A provider is built long before its first call (when the pipeline parses ``--reasons
gemini``), its client must be created once even when 16 worker threads ask for it at the
same moment, and a missing key must be reported before the first stage starts, in words
that name the environment variable, not as a 401 from deep inside a run.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from fmviz.providers.base import AuthError

__all__ = ["PLACEHOLDER_KEY", "LazyClient"]

C = TypeVar("C")

#: Sent to servers that need no key (local servers, the loopback server).
PLACEHOLDER_KEY = "not-needed"


class LazyClient(Generic[C]):
    """Builds a client on first use; checks the key without building anything.

    Parameters
    ----------
    build:
        ``build(key) -> client``; called once, under a lock.
    key:
        The API key, or None when none was configured.
    key_required:
        True for the provider's own service (a key is needed); False for other endpoints,
        which then get :data:`PLACEHOLDER_KEY`.
    missing_key:
        The message of the :class:`~fmviz.providers.base.AuthError` raised without a key.

    Examples
    --------
    >>> lazy = LazyClient(lambda key: f"client({key})", key=None, key_required=False, missing_key="")
    >>> lazy.get()
    'client(not-needed)'
    """

    def __init__(
        self, build: Callable[[str], C], *, key: str | None, key_required: bool, missing_key: str
    ) -> None:
        self._build = build
        self._key = key or None
        self._key_required = key_required
        self._missing_key = missing_key
        self._client: C | None = None
        self._lock = threading.Lock()

    def check(self) -> None:
        """Raise :class:`~fmviz.providers.base.AuthError` now if the key is missing."""
        if self._key is None and self._key_required:
            raise AuthError(self._missing_key)

    def get(self) -> C:
        """The client, created on the first call (by exactly one thread)."""
        client = self._client
        if client is None:
            with self._lock:
                if self._client is None:
                    self.check()
                    self._client = self._build(self._key or PLACEHOLDER_KEY)
                client = self._client
        return client

    def close(self, closer: Callable[[C], None] | None = None) -> None:
        """Forget the client, calling ``closer(client)`` first if it was created."""
        with self._lock:
            client, self._client = self._client, None
        if client is not None and closer is not None:
            closer(client)
