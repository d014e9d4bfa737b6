"""Packaging: the PyInstaller spec, the Linux .deb and the Windows installer script."""
