"""Keeping one trakt job's tokens fresh across threads and processes (DESIGN.md §9).

Trakt's refresh tokens are single-use: two processes refreshing with the same one would
leave one of them (and then the job) holding a dead token. So a refresh happens under the
job's lock, after re-reading the stored tokens, and both new tokens are saved before the
lock is released.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager

from strmsync.trakt.client import AuthorizeAgain, Tokens, TraktClient

log = logging.getLogger(__name__)


class TokenKeeper:
    """Hands out an access token that is not due, refreshing it at most once per lifetime."""

    def __init__(
        self,
        client: TraktClient,
        load: Callable[[], Tokens | None],
        save: Callable[[Tokens], None],
        lock: Callable[[], AbstractContextManager],
    ):
        self._client = client
        self._load = load
        self._save = save
        self._lock = lock
        self._held: Tokens | None = None

    def access_token(self, force: bool = False) -> str:
        """The access token to use; `force` after Trakt refused the one last handed out."""
        seen = self._stored()
        if not force and not seen.due():
            self._held = seen
            return seen.access_token
        rejected = self._held or seen
        with self._lock():
            current = self._stored()
            # Another thread or process may have refreshed while we waited for the lock.
            usable = current != rejected if force else not current.due()
            if not usable:
                log.info("refreshing the Trakt tokens")
                current = self._client.refresh(current.refresh_token)
                self._save(current)
        self._held = current
        return current.access_token

    def _stored(self) -> Tokens:
        tokens = self._load()
        if tokens is None:
            raise AuthorizeAgain("the job has no Trakt tokens: authorise it")
        return tokens
