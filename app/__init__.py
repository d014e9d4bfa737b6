"""The Fieldcase desktop client: domain, vault, encrypted store, core actions, CLI and window."""

from sync.version import VERSION as __version__

__all__ = ["__version__"]
