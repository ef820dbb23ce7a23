"""Identifiers, secrets and timestamps in the shapes the real API uses, optionally reproducible."""

from __future__ import annotations

import datetime
import hashlib
import random
import re
import secrets
import string
import uuid

GO_ZERO_TIME = "0001-01-01T00:00:00Z"
TOKEN_PATTERN = re.compile(r"^AstraCS:([A-Za-z0-9]{1,64}):([0-9a-fA-F]{1,128})$")
_LETTERS = string.ascii_letters


class IdSource:
    """Makes ids and secrets; with a seed the same sequence every run (secrets included)."""

    def __init__(self, seed: int | None = None) -> None:
        self._seeded = seed is not None
        self.rng = random.Random(seed)

    def uuid(self) -> str:
        """A random (version 4) UUID string."""
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def client_id(self) -> str:
        """A token clientId: 24 letters, like ``BOjPpMRcaWergiKIyHXEAymP``."""
        if self._seeded:
            return "".join(self.rng.choice(_LETTERS) for _ in range(24))
        return "".join(secrets.choice(_LETTERS) for _ in range(24))

    def secret(self) -> str:
        """A token secret (shown to the caller once)."""
        if self._seeded:
            return "".join(self.rng.choice(_LETTERS + string.digits) for _ in range(64))
        return secrets.token_urlsafe(48)

    def hex(self, nbytes: int) -> str:
        """Random lower-case hex, ``2 * nbytes`` characters."""
        return self.rng.getrandbits(nbytes * 8).to_bytes(nbytes, "big").hex()


def token_for(client_id: str, secret: str) -> str:
    """``AstraCS:<clientId>:<hex(sha256(secret))>``, as the spec describes the token."""
    return f"AstraCS:{client_id}:{hashlib.sha256(secret.encode()).hexdigest()}"


def client_id_of(token: str) -> str | None:
    """The clientId inside a well-formed token, else None."""
    match = TOKEN_PATTERN.match(token)
    return match.group(1) if match else None


def rfc3339(epoch: float) -> str:
    """``2025-06-17T02:28:00Z`` (UTC, whole seconds)."""
    moment = datetime.datetime.fromtimestamp(epoch, tz=datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def go_time(epoch: float) -> str:
    """``2021-01-21 17:32:28 +0000 UTC``: Go's default time format, used by the access list."""
    moment = datetime.datetime.fromtimestamp(epoch, tz=datetime.UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S +0000 UTC")
