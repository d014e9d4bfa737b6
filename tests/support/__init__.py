"""Fixtures shared by several suites: a throwaway PostgreSQL cluster, a running service,
test profiles."""
