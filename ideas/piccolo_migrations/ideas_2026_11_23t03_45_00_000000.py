"""Partial indexes for the leadership figures (ideas/leadership/).

- idea_shipped_ix: shipped ideas only, with every column the leaderboard, the
  time to ship and shipped-per-quarter read, so those are index-only scans of
  a quarter of the ideas instead of passes over the whole idea table. Votes
  never touch it: a shipped idea takes no votes, and an index whose condition
  a row does not meet gets no entry when the row's vote counter changes.
- submission_credited_ix: the opted-in submitters, the only ones leadership
  reads.
- event_council_decision_ix: the CX council's decision events, where the
  first decision of an idea without `first_decided_at` is looked up.

The conditions repeat, literally, the ones ideas/leadership/counting.py writes in its
queries (IS_SHIPPED, IS_CREDITED, COUNCIL_DECISION); PostgreSQL uses a partial
index only for a query whose conditions imply the index's. Partial indexes
work on SQLite too.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-23T03:45:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "partial indexes for the leadership figures"

STATEMENTS = (
    "CREATE INDEX IF NOT EXISTS idea_shipped_ix "
    "ON idea (shipped_at, owning_department, accepted_at, id) WHERE status = 'shipped'",
    'CREATE INDEX IF NOT EXISTS submission_credited_ix ON submission (idea, "user") '
    "WHERE credit = TRUE",
    "CREATE INDEX IF NOT EXISTS event_council_decision_ix ON event (idea, created_at) "
    "WHERE kind = 'status' AND actor_label = 'CX council' "
    "AND status IN ('needs_info', 'accepted', 'declined', 'duplicate')",
)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="ideas", description=DESCRIPTION)

    async def run():
        from piccolo_conf import DB

        for statement in STATEMENTS:
            await DB.run_ddl(statement)

    manager.add_raw(run)
    return manager
