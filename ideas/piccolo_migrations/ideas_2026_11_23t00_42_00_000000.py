"""Composite unique constraints and indexes, as raw SQL both engines accept.

Piccolo's composite `Unique` becomes `ALTER TABLE ... ADD CONSTRAINT`, which
SQLite rejects; `CREATE UNIQUE INDEX` works on both.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-23T00:42:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "composite unique constraints and indexes"

STATEMENTS = (
    'CREATE UNIQUE INDEX IF NOT EXISTS vote_idea_user_uq ON vote (idea, "user")',
    "CREATE INDEX IF NOT EXISTS vote_idea_created_ix ON vote (idea, created_at)",
    'CREATE UNIQUE INDEX IF NOT EXISTS submission_idea_user_uq ON submission (idea, "user")',
    'CREATE UNIQUE INDEX IF NOT EXISTS session_attendee_uq ON session_attendee (session, "user")',
    "CREATE UNIQUE INDEX IF NOT EXISTS agenda_item_uq ON agenda_item (session, idea)",
    "CREATE INDEX IF NOT EXISTS idea_votes_ix ON idea (votes DESC, id DESC)",
    "CREATE INDEX IF NOT EXISTS idea_status_votes_ix ON idea (status, votes DESC, id DESC)",
    "CREATE INDEX IF NOT EXISTS idea_term_term_idea_ix ON idea_term (term, idea)",
    'CREATE INDEX IF NOT EXISTS notification_user_id_ix ON notification ("user", id DESC)',
)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="ideas", description=DESCRIPTION)

    async def run():
        from piccolo_conf import DB

        for statement in STATEMENTS:
            await DB.run_ddl(statement)

    manager.add_raw(run)
    return manager
