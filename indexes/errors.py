"""Exceptions raised by the storage and search layer."""


class IndexStoreError(Exception):
    """Base class for index and store errors."""


class ModelMismatchError(IndexStoreError):
    """The index on disk was built with another embedding model than the one configured."""

    def __init__(self, stored: str, configured: str) -> None:
        self.stored = stored
        self.configured = configured
        super().__init__(
            f"index built with embedding model {stored!r} but {configured!r} is configured; "
            f"re-ingest into a fresh data directory or set COFFRE_EMBEDDING_MODEL back to the "
            f"folder of {stored!r}"
        )


class EmbedderError(IndexStoreError):
    """The embedding model could not be loaded."""


class StoreError(IndexStoreError):
    """The chunk store is unreadable or inconsistent."""
