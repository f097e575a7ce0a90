"""One delivery per (endpoint, source): a unique index, so a re-run after a
crash adds nothing twice. Raw DDL (a composite constraint is refused by
SQLite's ALTER TABLE; a unique index works on both engines)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-07T01:00:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "webhook_delivery: unique (endpoint, source)"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="ideas", description=DESCRIPTION)

    async def run():
        from piccolo_conf import DB

        await DB.run_ddl(
            "CREATE UNIQUE INDEX IF NOT EXISTS webhook_delivery_source_ux "
            "ON webhook_delivery (endpoint, source)"
        )

    manager.add_raw(run)
    return manager
