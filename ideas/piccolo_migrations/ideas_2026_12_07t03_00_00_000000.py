"""The answers to POST creates sent with an `Idempotency-Key`
(ideas/idempotency.py): one row per (caller, route, key), kept 24 hours.

Plain SQL that both engines take: the key digest is the primary key (no
serial column), the time is seconds since the epoch.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-07T03:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "idempotent_request: answers replayed for a repeated Idempotency-Key"

STATEMENTS = (
    "CREATE TABLE IF NOT EXISTS idempotent_request ("
    " key_digest VARCHAR(64) PRIMARY KEY,"
    " body_digest VARCHAR(64) NOT NULL,"
    " status INTEGER NOT NULL DEFAULT 0,"
    " content_type VARCHAR(200) NOT NULL DEFAULT '',"
    " sealed TEXT NOT NULL DEFAULT '',"
    " created_epoch DOUBLE PRECISION NOT NULL)",
    "CREATE INDEX IF NOT EXISTS idempotent_request_created_ix "
    "ON idempotent_request (created_epoch)",
)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="ideas", description=DESCRIPTION)

    async def run():
        from piccolo_conf import DB

        for statement in STATEMENTS:
            await DB.run_ddl(statement)

    manager.add_raw(run)
    return manager
