"""Fill term_doc_freq from the existing idea_term rows, and index the postings
by weight so that similar-search reads the heaviest few of a common term
without walking all of them.

The (term, idea) index is dropped: nothing reads postings in that order any
more, and (term, weight, idea) serves every lookup by term. (Raw steps run
before a manager's add_table, hence a migration of its own after the one
adding the table.)
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-23T03:26:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "fill term_doc_freq from idea_term; index postings by weight"

STATEMENTS = (
    "INSERT INTO term_doc_freq (term, ideas) "
    "SELECT term, COUNT(DISTINCT idea) FROM idea_term GROUP BY term",
    # the empty term: how many ideas are indexed at all (the idf's N); like
    # any term, no row while it would count none
    "INSERT INTO term_doc_freq (term, ideas) SELECT '', n FROM "
    "(SELECT COUNT(DISTINCT idea) AS n FROM idea_term) AS indexed WHERE n > 0",
    "CREATE INDEX IF NOT EXISTS idea_term_term_weight_ix "
    "ON idea_term (term, weight DESC, idea DESC)",
    "DROP INDEX IF EXISTS idea_term_term_idea_ix",
)


async def fill_doc_freq() -> None:
    from piccolo_conf import DB

    for statement in STATEMENTS:
        await DB.run_ddl(statement)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="ideas", description=DESCRIPTION)
    manager.add_raw(fill_doc_freq)
    return manager
