"""Errors a user can cause. Each carries one line: the thing, what is wrong, the fix."""


class RbyfError(Exception):
    """Base class: its message is shown to the user as is, on one line."""


class UsageError(RbyfError):
    """Bad command-line input (exit status 2)."""


class CatalogError(RbyfError):
    pass


class ModelError(RbyfError):
    """The model file cannot be used (missing, not GGUF, no chat format...)."""


class BackendError(RbyfError):
    """A generation failed inside the backend."""


class ContextOverflowError(BackendError):
    pass


class StoreError(RbyfError):
    """The database cannot be used (locked, corrupt, too new...)."""


class NotFoundError(RbyfError):
    """An unknown session id, task key, catalog or model."""


class SessionBusyError(RbyfError):
    """Another live process generates into the session."""
