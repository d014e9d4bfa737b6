"""The Fieldcase central service (FastAPI + SQLModel; PostgreSQL in production, SQLite embedded)."""
