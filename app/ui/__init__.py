"""The Fieldcase desktop window (PySide6). Qt is imported only under this package.

Widgets never run SQL, crypto or HTTP: they call the core actions through
:mod:`app.ui.work` (one DB worker, one network worker) and show results on the GUI thread.
"""
