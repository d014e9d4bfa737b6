"""Fieldcase's version: the one place it is written. The package's metadata (pyproject.toml
reads it from here), the desktop's ``fieldcase --version`` and About box, and the service's
``fieldcase-server --version`` all take it from :data:`VERSION`."""

VERSION = "0.1.0"
