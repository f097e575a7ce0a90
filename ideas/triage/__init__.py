"""Blind council triage, one module per job:

- `queue`: the ideas awaiting the council, with the SLA flag (ideas.policy);
- `sessions`: opening, listing and attending sessions, the council directory;
- `agenda`: a session as the council reads it, and the session page's view;
- `decisions`: accept, decline, duplicate, needs_info, and the agenda record;
- `merge`: merging a duplicate into its target, and the merge picker;
- `questions`: the council's questions, the submitter's answers, publishing;
- `batch`: declining several agenda items at once.

Every status change goes through `lifecycle.check_transition` and writes one
Event (kind "status") in the same transaction, with the role label as actor
on the public timeline; which council member acted is kept on the event and
the agenda item and shown to council only, on the session page. Ideas are
always projected through `ideas.blind`. Use cases take a `Context` first and
check their permission (`policy.PERMISSIONS`, rows `triage.*`) themselves.
"""

from __future__ import annotations

from ideas.triage.agenda import (
    AgendaEntry,
    Attendee,
    DecisionOut,
    SessionOut,
    SessionView,
    get_session,
    session_view,
)
from ideas.triage.batch import decline_many
from ideas.triage.decisions import DECLINE_NOTE_MIN, DecisionIn, decide
from ideas.triage.merge import merge_targets
from ideas.triage.questions import (
    AnswerIn,
    QuestionOut,
    QuestionThread,
    answer_question,
    publish_due,
    question_thread,
)
from ideas.triage.queue import QueueItem, QueueSort, queue
from ideas.triage.sessions import (
    SessionIn,
    SessionsOverview,
    SessionSummary,
    attend,
    council_directory,
    list_sessions,
    open_session,
    sessions_overview,
)

__all__ = [
    "DECLINE_NOTE_MIN",
    "AgendaEntry",
    "AnswerIn",
    "Attendee",
    "DecisionIn",
    "DecisionOut",
    "QueueItem",
    "QueueSort",
    "QuestionOut",
    "QuestionThread",
    "SessionIn",
    "SessionOut",
    "SessionSummary",
    "SessionView",
    "SessionsOverview",
    "answer_question",
    "attend",
    "council_directory",
    "decide",
    "decline_many",
    "get_session",
    "list_sessions",
    "merge_targets",
    "open_session",
    "publish_due",
    "queue",
    "question_thread",
    "session_view",
    "sessions_overview",
]
