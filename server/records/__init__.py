"""Synced records on the service, by concern.

* :mod:`server.records.scope`: who may see which case (team or assigned worker).
* :mod:`server.records.changelog`: what a writing transaction touched, and the change-log
  positions that order it for pulls.
* :mod:`server.records.push`: applying a laptop's batch of changes (per-field merge,
  conflicts kept), and changes the service makes itself.
* :mod:`server.records.pull`: one page of what a laptop may see since its cursor.
* :mod:`server.records.seeding`: inserting brand-new records in bulk (demo, benchmarks).
"""
