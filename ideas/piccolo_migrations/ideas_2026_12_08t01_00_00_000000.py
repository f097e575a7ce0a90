"""idea_published_at_ix: the ideas not yet published (`published_at` after
now), read by every refresh of each process's vector index
(ideas.vector_index.VectorIndex._all_current) -- a few ideas, the current
batch's, found without reading the others. Partial: ideas made before
batched publication have none."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-08T01:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "index on idea.published_at"

STATEMENTS = (
    "CREATE INDEX IF NOT EXISTS idea_published_at_ix ON idea (published_at) "
    "WHERE published_at IS NOT NULL",
)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="ideas", description=DESCRIPTION)

    async def run():
        from piccolo_conf import DB

        for statement in STATEMENTS:
            await DB.run_ddl(statement)

    manager.add_raw(run)
    return manager
