"""The notice kinds: what each is called on the settings page, which can be
switched off (the notice or only its e-mail), the subject of its e-mail, and
the wording helpers every notice's text is built with."""

from __future__ import annotations

import datetime as dt

from ideas.blind import IdeaText

#: notice kinds → what the person is told about (settings page, e-mail opt-out)
KINDS: dict[str, str] = {
    "idea_status": "A status change of an idea you submitted",
    "idea_question": "A question from the CX council about your idea",
    "vote_accepted": "An idea you voted for or follow was accepted",
    "vote_in_progress": "Work started on an idea you voted for or follow",
    "vote_shipped": "An idea you voted for or follow shipped",
    "vote_declined": "An idea you voted for or follow was declined",
    "vote_withdrawn": "An idea you voted for or follow was withdrawn",
    "vote_merged": "An idea you voted for or follow was merged into another",
    "idea_comments": "New comments on an idea you follow",
    "action_assigned": "An action is assigned to you",
    "action_removed": "An action of yours was removed",
    "action_due_soon": "An action of yours is due soon",
    "action_overdue": "An action of yours is overdue",
    "council_answer": "A submitter answered the council's question (council)",
    "council_ship_proposed": "An action owner proposes shipping an idea (council)",
    "action_ship_changes": "The council asks for changes before shipping an idea you work on",
    "council_sla": "Ideas past the triage SLA (council)",
    "identity_revealed": "An admin revealed that you submitted an idea",
    "admin_reveal": "Another admin revealed who submitted an idea (admin)",
    "weekly_digest": "Your weekly digest",
    "webhook_disabled": "An outgoing webhook or chat channel was switched off (admins)",
}

#: kinds whose switch in the settings stops the notice itself, not only its e-mail
NOTICE_OPTIONAL = ("vote_accepted", "vote_in_progress", "idea_comments")

#: kinds whose e-mail a person may switch off (the digest has its own switch;
#: being told of an identity reveal cannot be switched off)
EMAIL_OPTIONAL = tuple(
    k for k in KINDS if k not in ("identity_revealed", "admin_reveal", "weekly_digest")
)

#: the subject of every e-mail that may not say what it is about
#: (`policy.mail_detail`): the details are behind log-in
PRIVATE_SUBJECT = "You have an update in Touchpoint"

SUBJECTS: dict[str, str] = {
    "idea_status": "Update on your idea",
    "idea_question": "A question about your idea",
    "vote_accepted": "Accepted",
    "vote_in_progress": "Work started",
    "vote_shipped": "Shipped",
    "vote_declined": "Declined",
    "vote_withdrawn": "Withdrawn",
    "idea_comments": PRIVATE_SUBJECT,
    "vote_merged": "Merged",
    "action_assigned": "New action for you",
    "action_removed": "Action removed",
    "action_due_soon": "Action due soon",
    "action_overdue": "Action overdue",
    "council_answer": "Answer received",
    "council_ship_proposed": "Proposed to ship",
    "action_ship_changes": "Changes asked before shipping",
    "council_sla": "Ideas past the triage SLA",
    "identity_revealed": "Who submitted your idea was revealed",
    "admin_reveal": "A submitter was revealed",
    "weekly_digest": "Your week in Touchpoint",
    "webhook_disabled": "A webhook was switched off",
}

#: notes and questions quoted in a notice are cut to this length
NOTE_MAX = 600


def clip(text: str, limit: int = NOTE_MAX) -> str:
    """`text` on one line, cut to `limit` characters."""
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def with_note(text: str, label: str, note: str) -> str:
    """`text`, then "label: note" when there is a note."""
    note = clip(note)
    return f"{text} {label}: {note}" if note else text


def reveal_text(idea: IdeaText, reason: str) -> str:
    """The in-app notice to a revealed submitter (behind log-in)."""
    return with_note(
        f"An admin revealed that you submitted {idea.quoted}. This was recorded in the audit log.",
        "Reason",
        reason,
    )


def admin_reveal_text(admin_name: str, idea_id: int, reason: str, at: dt.datetime) -> str:
    """The notice to every other admin of a reveal."""
    return with_note(
        f"{admin_name} revealed who submitted idea {idea_id} on {at.date().isoformat()}. "
        "The submitter has been told; the audit log has the entry.",
        "Reason",
        reason,
    )
