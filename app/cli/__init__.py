"""``fieldcase``: the core actions without a window, for IT, automation and tests."""
