"""SessionAttendee.confirmed_at: each listed attendee confirms attending a
triage session (the member who opens it at once); decisions need confirmed
attendees spanning the quorum. Attendees of sessions opened before this
migration are unconfirmed: they confirm once before deciding."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Timestamptz
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-07T08:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "session_attendee.confirmed_at: attendance confirmed by each attendee"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="ideas", description=DESCRIPTION)

    manager.add_column(
        table_class_name="SessionAttendee",
        tablename="session_attendee",
        column_name="confirmed_at",
        db_column_name="confirmed_at",
        column_class_name="Timestamptz",
        column_class=Timestamptz,
        params={
            "default": None,
            "null": True,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    return manager
