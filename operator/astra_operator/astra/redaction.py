"""A process-wide safety net: no Astra token in any log line, whoever wrote it.

``errors`` keeps tokens out of every ``AstraError`` (and so out of conditions and events built
from one); this module keeps them out of log records of any origin: a library's debug line, an
exception message inside a traceback, kopf's "handler failed" lines (which kopf also posts as
Kubernetes events). It scrubs with ``errors.scrub``, against the tokens the process has seen plus
the generic token patterns.

Wiring, once, by the operator:

- ``register_secret(token)`` for every Astra token read from a Kubernetes Secret, each time one
  is read and before it is used. Cheap and idempotent (a known value costs one set lookup).
  Values shorter than ``errors.MIN_SEGMENT`` (8) characters are ignored: they are not real
  tokens and would redact ordinary words. Up to ``MAX_SECRETS`` of the most recent are kept
  (see :class:`SecretRegistry`).
- ``install()`` at start-up, after ``kopf.configure(...)`` (which replaces the root logger's
  stream handler, dropping filters attached to the old one). It attaches one
  :class:`RedactingFilter` to every handler of the root logger and of the ``kopf.objects`` logger
  (whose handler posts log lines as Kubernetes events, and is not a root handler). Pass a logger
  to cover only that logger's handlers. Handlers added later are not covered: call ``install``
  again after adding one (it never attaches the filter to a handler twice).

The filter changes a record only when it carries something to remove, and then so that every
handler renders the same, scrubbed text: the message is rendered (``msg % args``) and stored
with no args; a traceback is rendered into ``exc_text`` and ``exc_info`` is dropped (formatters
such as python-json-logger's re-render ``exc_info`` and ignore ``exc_text``); ``stack_info`` is
scrubbed in place. Records with nothing to remove keep their args and ``exc_info`` untouched.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping

from astra_operator.astra import errors

MAX_SECRETS = 256
# Kopf's per-object logger: its K8sPoster handler turns log lines into Kubernetes events.
EVENT_LOGGER = "kopf.objects"

_TRACEBACKS = logging.Formatter()


class SecretRegistry:
    """The secret values a process has seen, and scrubbing against all of them.

    Secrets are compiled in groups of ``GROUP`` so that registering one rebuilds only its group
    (about a millisecond per secret in it). When a new group would take the count past
    ``limit``, the oldest group is forgotten, so at least ``limit - GROUP`` of the most recent
    secrets are always kept.
    """

    GROUP = 16

    def __init__(self, limit: int = MAX_SECRETS) -> None:
        self._limit = max(limit, self.GROUP)
        self._known: set[str] = set()
        self._groups: list[list[str]] = []
        self._scrubbers: tuple[Callable[[str], str], ...] = ()
        self._lock = threading.Lock()

    def add(self, value: str) -> bool:
        """Remember ``value``; false if it is too short to be a secret (and so ignored)."""
        value = value.strip()
        if len(value) < errors.MIN_SEGMENT:
            return False
        if value in self._known:
            return True
        with self._lock:
            if value not in self._known:
                self._insert(value)
        return True

    def _insert(self, value: str) -> None:
        scrubbers = list(self._scrubbers)
        if not self._groups or len(self._groups[-1]) >= self.GROUP:
            if len(self._known) + 1 > self._limit:
                self._known.difference_update(self._groups.pop(0))
                del scrubbers[0]
            self._groups.append([])
            scrubbers.append(errors.scrubber((), generic=False))
        self._groups[-1].append(value)
        self._known.add(value)
        scrubbers[-1] = errors.scrubber(self._groups[-1], generic=False)
        self._scrubbers = tuple(scrubbers)

    def __contains__(self, value: object) -> bool:
        return isinstance(value, str) and value.strip() in self._known

    def __len__(self) -> int:
        return len(self._known)

    def scrub(self, text: str) -> str:
        """``text`` without any known secret (in any of its forms) or anything token-shaped."""
        for scrub_group in self._scrubbers:
            text = scrub_group(text)
        return errors.scrub(text)


class RedactingFilter(logging.Filter):
    """Scrubs each record's message, traceback and stack; never drops a record."""

    def __init__(self, registry: SecretRegistry | None = None) -> None:
        super().__init__()
        self.registry = _REGISTRY if registry is None else registry

    def filter(self, record: logging.LogRecord) -> bool:
        scrub = self.registry.scrub
        _scrub_message(record, scrub)
        _scrub_exception(record, scrub)
        if record.stack_info:
            record.stack_info = scrub(record.stack_info)
        return True


def _scrub_message(record: logging.LogRecord, scrub: Callable[[str], str]) -> None:
    try:
        message = record.getMessage()
    except Exception:  # a malformed record: the handler reports it, so make that report safe
        record.msg = scrub(str(record.msg))
        if isinstance(record.args, Mapping):
            record.args = {k: scrub(str(v)) for k, v in record.args.items()}
        elif record.args:
            record.args = tuple(scrub(str(a)) for a in record.args)
        return
    cleaned = scrub(message)
    if cleaned != message:
        record.msg, record.args = cleaned, ()


def _scrub_exception(record: logging.LogRecord, scrub: Callable[[str], str]) -> None:
    text = record.exc_text
    if not text and record.exc_info:
        text = _TRACEBACKS.formatException(record.exc_info)
    if not text:
        return
    cleaned = scrub(text)
    if cleaned != text:
        record.exc_text, record.exc_info = cleaned, None


_REGISTRY = SecretRegistry()
_FILTER = RedactingFilter(_REGISTRY)


def register_secret(value: str) -> bool:
    """Scrub ``value`` (in any case, URL-encoded, its secret segment) from every log record.

    Returns false, and registers nothing, for a value shorter than ``errors.MIN_SEGMENT``.
    """
    return _REGISTRY.add(value)


def install(logger: logging.Logger | None = None) -> RedactingFilter:
    """Attach the process-wide filter to every handler of ``logger``.

    Without a logger: the root logger's handlers and those of ``kopf.objects`` (its event
    poster). Idempotent per handler. Returns the filter.
    """
    targets = (
        [logger] if logger is not None else [logging.getLogger(), logging.getLogger(EVENT_LOGGER)]
    )
    for target in targets:
        for handler in target.handlers:
            if not any(isinstance(f, RedactingFilter) for f in handler.filters):
                handler.addFilter(_FILTER)
    return _FILTER
