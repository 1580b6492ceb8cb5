"""API keys: random, prefixed so secret scanners recognise a leaked one, kept only as a SHA-256 hash.

A key is `gymxsb_` and 43 URL-safe characters (256 random bits). With that much entropy a plain
SHA-256 is a sound at-rest hash (no password stretching needed) and lets a request's key be found
by an index lookup. Keys are sent only in the `Authorization: Bearer` header.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time

PREFIX = "gymxsb_"


def new_key() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def bearer(header: str | None) -> str | None:
    """The key in an `Authorization: Bearer KEY` header, or None."""
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or not value.startswith(PREFIX):
        return None
    return value


class RateLimiter:
    """A token bucket per key: `rate` requests a minute, bursts up to `rate`; in this process's memory."""

    def __init__(self, clock=time.monotonic):
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def allow(self, key_hash: str, rate: int) -> tuple[bool, float]:
        """(whether one more request is allowed now, seconds until the next would be)."""
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.get(key_hash, (float(rate), now))
            tokens = min(float(rate), tokens + (now - last) * rate / 60.0)
            if tokens >= 1.0:
                self._buckets[key_hash] = (tokens - 1.0, now)
                return True, 0.0
            self._buckets[key_hash] = (tokens, now)
            return False, (1.0 - tokens) * 60.0 / rate
