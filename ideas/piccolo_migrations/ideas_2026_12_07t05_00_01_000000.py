"""idea_follow: one row per (idea, person); submitters follow their own ideas."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-07T05:00:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "idea_follow unique index; submitters follow their own ideas"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="ideas", description=DESCRIPTION)

    async def run():
        from piccolo_conf import DB

        await DB.run_ddl(
            'CREATE UNIQUE INDEX IF NOT EXISTS idea_follow_uq ON idea_follow (idea, "user")'
        )
        # submitters follow their own ideas (new comments, status changes)
        await DB.run_ddl(
            'INSERT INTO idea_follow (idea, "user") SELECT s.idea, s."user" FROM submission s '
            "WHERE NOT EXISTS (SELECT 1 FROM idea_follow f WHERE f.idea = s.idea "
            'AND f."user" = s."user")'
        )

    manager.add_raw(run)

    return manager
