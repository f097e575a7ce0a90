"""Backfill comment.by_submitter so that no existing comment changes its
label: a comment shows "Submitter" today when its author is (now) among the
idea's submitters, and it keeps showing exactly that. A label that changed
at the upgrade would itself tell readers who the submitter is. From here
on, the label is decided when the comment is written.

(Raw steps run before a manager's add_column, hence a migration of its own
after the one adding the column.)
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-23T01:45:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "backfill comment.by_submitter from the current submitters"

STATEMENT = (
    "UPDATE comment SET by_submitter = {} WHERE EXISTS ("
    'SELECT 1 FROM submission WHERE submission.idea = comment.idea AND submission."user" = '
    "comment.author)"
)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="ideas", description=DESCRIPTION)

    async def run():
        from piccolo.querystring import QueryString

        from piccolo_conf import DB

        await DB.run_querystring(QueryString(STATEMENT, True))

    manager.add_raw(run)
    return manager
