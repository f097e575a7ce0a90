"""Comment.by_submitter: whether a comment's author was a submitter of the
idea when they wrote it, so later co-submitters (a merge) keep the name
their earlier comments showed, and "Submitter" stays what it was."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Boolean
from piccolo.columns.indexes import IndexMethod

ID = "2026-11-23T01:45:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "comment.by_submitter: the author label decided at write time"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="ideas", description=DESCRIPTION)

    manager.add_column(
        table_class_name="Comment",
        tablename="comment",
        column_name="by_submitter",
        db_column_name="by_submitter",
        column_class_name="Boolean",
        column_class=Boolean,
        params={
            "default": False,
            "null": False,
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
