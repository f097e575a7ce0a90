"""idea_vector: the sentence embedding of each idea (similar ideas by meaning).

One row an idea, written `pending` with the idea's submission or edit and
filled in by the worker (ideas/embedding.py, ideas/vector_index.py). Only
adds a table.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import Boolean, Bytea, ForeignKey, Serial, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table

ID = "2026-12-07T06:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "idea_vector: sentence embeddings of ideas"


class Idea(Table, tablename="idea", schema=None):
    id = Serial(null=False, primary_key=True, unique=False, index=False)


def _params(**extra):
    base = {
        "null": False,
        "primary_key": False,
        "unique": False,
        "index": False,
        "index_method": IndexMethod.btree,
        "choices": None,
        "db_column_name": None,
        "secret": False,
    }
    base.update(extra)
    return base


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="ideas", description=DESCRIPTION)
    manager.add_table(class_name="IdeaVector", tablename="idea_vector", schema=None, columns=None)
    columns = (
        ("id", Serial, _params(primary_key=True)),
        (
            "idea",
            ForeignKey,
            _params(
                references=Idea,
                on_delete=OnDelete.cascade,
                on_update=OnUpdate.cascade,
                target_column=None,
                unique=True,
            ),
        ),
        ("model", Varchar, _params(length=80, default="")),
        ("vector", Bytea, _params(null=True, default=None)),
        ("pending", Boolean, _params(default=True, index=True)),
        ("updated_at", Timestamptz, _params(default=TimestamptzNow(), index=True)),
    )
    for name, column_class, params in columns:
        manager.add_column(
            table_class_name="IdeaVector",
            tablename="idea_vector",
            column_name=name,
            db_column_name=name,
            column_class_name=column_class.__name__,
            column_class=column_class,
            params=params,
            schema=None,
        )
    return manager
