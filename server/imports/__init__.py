"""Importing predecessor councils' records (docs/import.md): the mapping file, reading the
export, turning rows into records, and writing them through the service's merge."""
