"""TermDocFreq: the document frequency of each similar-search term, so that a
suggestion reads a few rows instead of counting every posting of its terms.
(Filled from idea_term by the next migration.)"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Integer, Varchar
from piccolo.columns.indexes import IndexMethod

ID = "2026-11-23T03:26:00:292496"
VERSION = "1.38.0"
DESCRIPTION = "term_doc_freq: document frequency of each similar-search term"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="ideas", description=DESCRIPTION)

    manager.add_table(
        class_name="TermDocFreq", tablename="term_doc_freq", schema=None, columns=None
    )

    manager.add_column(
        table_class_name="TermDocFreq",
        tablename="term_doc_freq",
        column_name="term",
        db_column_name="term",
        column_class_name="Varchar",
        column_class=Varchar,
        params={
            "length": 40,
            "default": "",
            "null": False,
            "primary_key": True,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    manager.add_column(
        table_class_name="TermDocFreq",
        tablename="term_doc_freq",
        column_name="ideas",
        db_column_name="ideas",
        column_class_name="Integer",
        column_class=Integer,
        params={
            "default": 0,
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
