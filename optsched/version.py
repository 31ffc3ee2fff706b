"""The package version, in a module of its own so that any module can record it without importing
the package's ``__init__`` (which would make an import cycle with the modules it re-exports)."""

__version__ = "0.10.0"
