"""Similar-search terms of a submitted idea, written by the worker.

Submitting an idea only asks, through the outbox (:func:`ask_for_terms`),
for an ``index_terms`` job after the commit; the job writes the idea's
`IdeaTerm` rows and the document frequencies they change
(``ideas.board.similar.index_terms``). The counted `term_doc_freq` rows are the
ones concurrent writers queue on: in the worker, one job at a time, that
wait is no longer inside anybody's request. The worker's sweep indexes any
idea that still has no terms (a lost job, a worker that was down).

An idea is findable by shared words once it is published (ideas.publish)
and the job or the sweep ran: the job does nothing for an idea not yet
published (its words must not move the document frequencies before its
batch), and the sweep, right after each minute turns, indexes it; with no
batches (a delay of 0), well under a second after the submit. By meaning
once its vector is stored (ideas.vector_index, the same outbox path).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ideas import clock, outbox, publish, sql
from ideas.tables import Idea

TERMS_JOB = "index_terms"


def ask_for_terms(idea_id: int) -> None:
    """Call inside the transaction that submits the idea."""
    outbox.record_job(TERMS_JOB, [idea_id], job_id=f"terms:{idea_id}", queue=outbox.INDEX_QUEUE)


async def ideas_without_terms(limit: int, ids: Iterable[int] | None = None) -> list[dict]:
    """Ideas (id, title, problem) others can see (ideas.publish) with no
    similar-search term yet, the newest first. An idea not yet published is
    left out (with batches): its
    words would change the document frequencies, and so which published
    ideas a draft is shown, at the second it was submitted; the sweep
    indexes it once its batch is out. An idea whose text yields no term at
    all stays in this list: it is re-read by each sweep, at no cost but the
    read."""
    where = ""
    args: list[Any] = []
    published = ""
    if publish.delay_minutes() > 0:
        published = "(i.published_at IS NULL OR i.published_at <= {}) AND "
        args.append(clock.now())
    if ids is not None:
        ids = [int(i) for i in ids]
        if not ids:
            return []
        condition, in_args = sql.in_list("i.id", ids)
        where = f" AND {condition}"
        args.extend(in_args)
    args.append(int(limit))
    return await Idea.raw(
        "SELECT i.id, i.title, i.problem FROM idea i "
        f"WHERE {published}NOT EXISTS (SELECT 1 FROM idea_term t WHERE t.idea = i.id)"
        # the newest first: ideas whose text yields no term stay in this list,
        # and must not keep the sweep from a batch just published
        f"{where} ORDER BY COALESCE(i.published_at, i.created_at) DESC, i.id LIMIT {{}}",
        *args,
    ).run()
