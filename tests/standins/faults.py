"""Faults and latency a stand-in server injects, decided call by call."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass

from .tree import clean_path

EMPTY = "empty"


@dataclass
class Rule:
    """Fault `kind` for matching calls: once `after` have passed, `times` times (None: always)."""

    kind: str
    path: str | None = None
    endpoint: str | None = None
    times: int | None = None
    after: int = 0

    def matches(self, endpoint: str, path: str | None, explicit_only: bool) -> bool:
        """Tell whether this rule applies to a call of `endpoint` on `path`."""
        if self.endpoint is None and explicit_only:
            return False
        if self.endpoint is not None and self.endpoint != endpoint:
            return False
        return self.path is None or (path is not None and clean_path(path) == self.path)


class FaultPlan:
    """The latency and fault rules of one stand-in; `kinds` are its protocol's fault names."""

    def __init__(
        self,
        kinds: Iterable[str],
        *,
        list_endpoint: str,
        list_only_kinds: Iterable[str] = (EMPTY,),
        error_kind: str,
        throttle_kind: str,
    ) -> None:
        self.kinds = frozenset(kinds)
        self.list_endpoint = list_endpoint
        self.list_only_kinds = frozenset(list_only_kinds)
        self.error_kind = error_kind
        self.throttle_kind = throttle_kind
        self.latency = 0.0
        self._rules: list[Rule] = []
        self._lock = threading.Lock()

    def fail(
        self,
        kind: str,
        *,
        path: str | None = None,
        endpoint: str | None = None,
        times: int | None = None,
        after: int = 0,
    ) -> Rule:
        """Add a rule; `path` matches the client's path exactly, `endpoint` None any API call."""
        if kind not in self.kinds:
            raise ValueError(f"kind: {kind!r} is not one of {sorted(self.kinds)}")
        if kind in self.list_only_kinds:
            endpoint = endpoint or self.list_endpoint
        rule = Rule(kind, None if path is None else clean_path(path), endpoint, times, after)
        with self._lock:
            self._rules.append(rule)
        return rule

    def fail_path(self, path: str, kind: str | None = None, times: int | None = None) -> Rule:
        """Make every API call naming `path` fail (default: the protocol's plain server error)."""
        return self.fail(kind or self.error_kind, path=path, times=times)

    def throttle(
        self, kind: str | None = None, times: int = 1, endpoint: str | None = None
    ) -> Rule:
        """Throttle the next `times` API calls (default: the protocol's usual rate-limit answer)."""
        return self.fail(kind or self.throttle_kind, endpoint=endpoint, times=times)

    def fail_after(self, calls: int, kind: str | None = None, times: int | None = None) -> Rule:
        """Let `calls` more API calls succeed, then fail the following ones."""
        return self.fail(kind or self.error_kind, after=calls, times=times)

    def list_empty(self, path: str | None = None, times: int = 1) -> Rule:
        """Make the next `times` listings (of `path`, or of any folder) come back empty."""
        return self.fail(EMPTY, path=path, times=times)

    def clear(self) -> None:
        """Remove every rule and the latency."""
        with self._lock:
            self._rules.clear()
            self.latency = 0.0

    def decide(self, endpoint: str, path: str | None, explicit_only: bool = False) -> str | None:
        """Return the fault kind for this call, or None; rules are used up as they fire."""
        with self._lock:
            for rule in self._rules:
                if not rule.matches(endpoint, path, explicit_only):
                    continue
                if rule.after > 0:
                    rule.after -= 1
                    continue
                if rule.times is not None:
                    rule.times -= 1
                    if rule.times <= 0:
                        self._rules.remove(rule)
                return rule.kind
        return None
