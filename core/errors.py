"""Small domain exceptions, translated once into friendly messages by the CLI and the app.

Each carries a message naming what failed and, where there is one, the fix.
No module other than the boundaries (``cli.main``, ``app``) prints them.
"""

from __future__ import annotations


class PHTError(Exception):
    """Base class: something the user can act on. ``str(err)`` is the whole message."""

    def __init__(self, message: str, fix: str = ""):
        super().__init__(message)
        self.message = message
        self.fix = fix

    def __str__(self) -> str:
        return f"{self.message} Fix: {self.fix}" if self.fix else self.message


class ConfigError(PHTError):
    """A setting is wrong or a configured resource cannot be used."""


class MissingDependencyError(PHTError):
    """An optional package is missing; ``fix`` is the install command."""


class CorpusError(PHTError):
    """The corpus folder or one of its files cannot be ingested."""


class IndexStateError(PHTError):
    """The index is missing, incompatible or unwritable."""


class IndexMissingError(IndexStateError):
    """No index has been built yet."""


class IndexMismatchError(IndexStateError):
    """The index was built with another embedding model or pipeline version."""


class LLMError(PHTError):
    """The language model could not produce a usable answer (used for fallback)."""
