"""The Fieldcase desktop client: domain, vault, encrypted store, core actions, CLI and window."""

__version__ = "0.1.0"
