"""Fieldcase test suites; a package so suite folders never shadow the real packages."""
