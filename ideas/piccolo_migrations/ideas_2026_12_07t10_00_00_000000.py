"""idea_duplicate_of_ix: the ideas merged into one, looked up on every idea
page ("Merged into this idea") and by the merge itself. Without it the look-up
walked every idea with status `duplicate` (a few per cent of the ideas; at
100,000 ideas the idea page answered at 100 requests a second against 255 at
10,000). Partial: only merged ideas have a `duplicate_of`."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-07T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "index on idea.duplicate_of"

STATEMENTS = (
    "CREATE INDEX IF NOT EXISTS idea_duplicate_of_ix ON idea (duplicate_of) "
    "WHERE duplicate_of IS NOT NULL",
)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="ideas", description=DESCRIPTION)

    async def run():
        from piccolo_conf import DB

        for statement in STATEMENTS:
            await DB.run_ddl(statement)

    manager.add_raw(run)
    return manager
