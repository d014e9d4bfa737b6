"""Build a profile at schema version 1 (revision 0001), with data, as the first release
wrote it: used by the migration tests, and runnable by hand::

    python -m tests.store.make_v1_profile DIR PASSWORD

It runs the real migrations only up to 0001 and inserts rows with plain SQL in the v1 shape
(no ``people.sort_name``), so it keeps working however the models change later.
"""

from __future__ import annotations

import sys
from pathlib import Path
from uuid import UUID, uuid4

from sqlalchemy import text

from app import vault
from app.store import db, migrate
from tests.support.kdf import TEST_KDF

V1 = "0001"

#: (name, ref, summary, note) of the cases written at v1.
V1_CASES: list[tuple[str, str, str, str]] = [
    ("Pat Morgan", "FC-2026-00001", "Damp in the back bedroom", "Visited; mould on the walls."),
    ("Siân O'Neill", "FC-2026-00002", "Carer assessment", "Daughter is the main carer."),
    ("Ann Zeller", "FC-2026-00003", "Grab rails", "Measured the bathroom."),
    ("bob adams", "FC-2026-00004", "Noise complaint", "Neighbours play drums at night."),
]


def build_v1_profile(folder: Path, password: str) -> dict[str, UUID]:
    """Make the profile; return ref -> case id of the cases written."""
    folder = Path(folder)
    profile_id = uuid4()
    key = vault.create_key(folder, password, profile_id=profile_id, kdf=TEST_KDF)
    for sub in ("documents", "backups"):
        (folder / sub).mkdir(exist_ok=True)
    engine = db.make_engine(folder / db.DB_FILE, key)
    made: dict[str, UUID] = {}
    try:
        migrate.upgrade(engine, V1)
        with engine.begin() as conn:
            for key_, value in (
                ("profile_id", str(profile_id)),
                ("user", "ajones"),
                ("team", "North"),
                ("laptop_code", "V1X"),
            ):
                conn.execute(
                    text("INSERT INTO meta (key, value) VALUES (:k, :v)"), {"k": key_, "v": value}
                )
            for name, ref, summary, note in V1_CASES:
                case_id, person_id, note_id = uuid4(), uuid4(), uuid4()
                conn.execute(
                    text(
                        "INSERT INTO people (id, version, case_id, name, date_of_birth, address,"
                        " phone, preferred_contact, language, access_needs) VALUES"
                        " (:id, 3, :case, :name, '1950-04-30', '1 High St', '01234', 'phone',"
                        " 'Welsh', '')"
                    ),
                    {"id": person_id.hex, "case": case_id.hex, "name": name},
                )
                conn.execute(
                    text(
                        "INSERT INTO cases (id, version, ref, type, status, priority, summary,"
                        " team, assigned_to, next_review, opened_on, closed_on, person_id)"
                        " VALUES (:id, 5, :ref, 'housing_repair', 'open', 'normal', :summary,"
                        " 'North', 'ajones', '2026-12-01', '2026-01-10', NULL, :person)"
                    ),
                    {"id": case_id.hex, "ref": ref, "summary": summary, "person": person_id.hex},
                )
                conn.execute(
                    text(
                        "INSERT INTO notes (id, version, case_id, text, author, written_at,"
                        " corrects) VALUES (:id, 1, :case, :text, 'ajones',"
                        " '2026-01-10T10:40:00.000000+00:00', NULL)"
                    ),
                    {"id": note_id.hex, "case": case_id.hex, "text": note},
                )
                conn.execute(
                    text(
                        "INSERT INTO outbox (change_id, kind, record_id, case_id, base_version,"
                        " fields, resolves, made_at, rejected, error) VALUES (:change, 'case',"
                        " :id, :id, 5, '{\"priority\":\"normal\"}', '[]',"
                        " '2026-01-11T09:00:00.000000+00:00', 0, NULL)"
                    ),
                    {"change": uuid4().hex, "id": case_id.hex},
                )
                made[ref] = case_id
    finally:
        engine.dispose()
    return made


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python -m tests.store.make_v1_profile DIR PASSWORD")
    refs = build_v1_profile(Path(sys.argv[1]), sys.argv[2])
    print(f"made a schema-v1 profile with {len(refs)} cases in {sys.argv[1]}")
