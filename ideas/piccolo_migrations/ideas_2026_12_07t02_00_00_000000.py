"""Sign-in from an identity provider, SCIM provisioning and token lifetimes.

- api_token.name / api_token.expires_at: a token is named by its owner and
  expires (API_TOKEN_DAYS, 90 by default). Tokens made before this migration
  have no `expires_at`; they count as expiring API_TOKEN_DAYS after
  `created_at` (ideas/people.py).
- tp_user.break_glass: may sign in with a password while SSO_ONLY is on.
- tp_user.oidc_subject: the provider's `sub` this person signed in with.
- tp_user.external_id: SCIM's `externalId` (the provisioning client's id).
- tp_user.scim_user_name: SCIM's `userName` as the client sent it ("" = the
  e-mail address).
- tp_user.scim_deleted: removed by a SCIM DELETE (deactivated, kept for the
  ideas' history, hidden from SCIM).
- department.external_id: SCIM's `externalId` of the group it is.
- scim_token: bearer tokens of SCIM clients, stored as SHA-256.

Only added columns (with defaults) and a new table: works on SQLite and
PostgreSQL alike.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-07T02:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "api_token name and expiry; SSO and SCIM columns; scim_token"


def _statements(postgres: bool) -> tuple[str, ...]:
    # the column types Piccolo itself declares on each engine (its SQLite
    # converters read values by these declared types)
    ts = "TIMESTAMPTZ"
    serial = "SERIAL PRIMARY KEY" if postgres else "INTEGER PRIMARY KEY NOT NULL"
    uuid = "UUID"
    return (
        "ALTER TABLE api_token ADD COLUMN name VARCHAR(80) NOT NULL DEFAULT ''",
        f"ALTER TABLE api_token ADD COLUMN expires_at {ts} NULL DEFAULT NULL",
        "ALTER TABLE tp_user ADD COLUMN break_glass BOOLEAN NOT NULL DEFAULT FALSE",
        "ALTER TABLE tp_user ADD COLUMN oidc_subject VARCHAR(255) NOT NULL DEFAULT ''",
        "ALTER TABLE tp_user ADD COLUMN external_id VARCHAR(255) NOT NULL DEFAULT ''",
        "ALTER TABLE tp_user ADD COLUMN scim_deleted BOOLEAN NOT NULL DEFAULT FALSE",
        "ALTER TABLE tp_user ADD COLUMN scim_user_name VARCHAR(254) NOT NULL DEFAULT ''",
        "ALTER TABLE department ADD COLUMN external_id VARCHAR(255) NOT NULL DEFAULT ''",
        "CREATE INDEX IF NOT EXISTS tp_user_oidc_subject ON tp_user (oidc_subject)",
        f"CREATE TABLE IF NOT EXISTS scim_token (id {serial}, "
        "name VARCHAR(80) NOT NULL DEFAULT '', "
        "token_hash VARCHAR(64) NOT NULL UNIQUE, "
        f"created_by {uuid} NULL REFERENCES tp_user (id) ON DELETE SET NULL, "
        f"created_at {ts} NOT NULL DEFAULT CURRENT_TIMESTAMP, "
        f"last_used_at {ts} NULL DEFAULT NULL, "
        f"revoked_at {ts} NULL DEFAULT NULL)",
    )


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="ideas", description=DESCRIPTION)

    async def run():
        from piccolo.engine.postgres import PostgresEngine

        from piccolo_conf import DB

        for statement in _statements(isinstance(DB, PostgresEngine)):
            await DB.run_ddl(statement)

    manager.add_raw(run)
    return manager
