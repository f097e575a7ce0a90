"""Piccolo tables: the whole of Touchpoint's data.

The submitter of an idea lives in `Submission`, never on `Idea`, so that no
query of ideas can carry it by accident. Only `ideas.blind` and the services
that check "is this mine?" read `Submission`.

Size: over 400 lines: every table in one module, the schema as Piccolo's app
and its migrations read it.
"""

from __future__ import annotations

from piccolo.columns import (
    JSON,
    UUID,
    Boolean,
    Bytea,
    Date,
    ForeignKey,
    Integer,
    Real,
    Serial,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from ideas import clock


class ClockNow(TimestamptzNow):
    """A row's stamp when none is given: the product's clock (`ideas.clock`),
    so a row made inside a unit of work is stamped at its `now` (the demo's
    simulated days, a test's frozen time); the database's own default stays
    `current_timestamp`."""

    def python(self):
        return clock.now()


class Department(Table):
    id = Serial(primary_key=True)
    #: unique display name, e.g. "Finance"
    name = Varchar(length=80, unique=True)
    created_at = Timestamptz(default=ClockNow())
    #: SCIM `externalId` of the group this department is ("" = none)
    external_id = Varchar(length=255, default="")


class User(Table, tablename="tp_user"):
    id = UUID(primary_key=True)
    email = Varchar(length=254, unique=True)
    name = Varchar(length=120)
    #: job title: hidden from everyone reviewing ideas
    title = Varchar(length=120, default="")
    department = ForeignKey(references=Department, null=False)
    #: argon2 hash; empty means "no usable password yet" (imported, invited)
    password_hash = Varchar(length=255, default="")
    is_council = Boolean(default=False)
    is_leader = Boolean(default=False)
    is_admin = Boolean(default=False)
    active = Boolean(default=True, index=True)
    #: e-mail kinds switched off, e.g. ["vote_shipped"]
    email_off = JSON(default=[])
    digest = Boolean(default=True)
    created_at = Timestamptz(default=ClockNow())
    #: when an admin last moved this person to another department (None:
    #: never moved). Leadership does not lean on just-moved people: see
    #: `ideas.leadership.groups.department_groups`.
    department_since = Timestamptz(null=True, default=None)
    #: may sign in with a password while SSO_ONLY is on (marked by an admin)
    break_glass = Boolean(default=False)
    #: the identity provider's `sub` this person signs in with ("" = none yet)
    oidc_subject = Varchar(length=255, default="", index=True)
    #: SCIM `externalId`: the provisioning client's own id for this person
    external_id = Varchar(length=255, default="")
    #: removed by a SCIM DELETE: deactivated, kept for history, hidden from SCIM
    scim_deleted = Boolean(default=False)
    #: SCIM `userName` as the client sent it ("" = the e-mail address)
    scim_user_name = Varchar(length=254, default="")


class Idea(Table):
    id = Serial(primary_key=True)
    title = Varchar(length=140)
    problem = Text()
    proposal = Text()
    touchpoint = Varchar(length=20, index=True)
    status = Varchar(length=20, default="new", index=True)
    #: the votes counted for the idea: equal to its Vote rows, bumped with each
    #: vote and retraction (ideas/board/vote.py), except that a merged duplicate
    #: counts 0 (its votes moved to the target, ideas/triage/merge.py; its Vote
    #: rows stay, so a voter is not asked again)
    votes = Integer(default=0)
    created_at = Timestamptz(default=ClockNow(), index=True)
    submitted_on = Date()
    owning_department = ForeignKey(references=Department, null=True)
    duplicate_of = ForeignKey(references="Idea", null=True)
    #: first council decision of any outcome (for the SLA figure)
    first_decided_at = Timestamptz(null=True, default=None)
    accepted_at = Timestamptz(null=True, default=None)
    shipped_at = Timestamptz(null=True, default=None)
    ship_note = Text(default="")
    impact_metric = Varchar(length=120, default="")
    impact_before = Real(null=True, default=None)
    impact_after = Real(null=True, default=None)
    #: an answer to the council's question arrived and awaits review
    answered = Boolean(default=False)
    updated_at = Timestamptz(default=ClockNow())
    #: the submitter last edited it (while `new`): council sees the day only
    edited_at = Timestamptz(null=True, default=None)
    #: an action owner's proposal to ship: {"note", "metric", "before", "after"}
    #: ({} when none is pending)
    ship_proposal = JSON(default={})
    #: when others may see it (ideas.publish); null: at once (made before batching)
    published_at = Timestamptz(null=True, default=None)


class WaitingEdit(Table, tablename="idea_edit"):
    """A submitter's edit of an idea others can already see, waiting for its
    batch (ideas.publish): others see the idea as it was until `publish_at`,
    when the worker applies it (ideas.editing.publish_due_changes) -- else the
    text changing would tell anyone watching the idea the minute its
    submitter was at work. Its editor sees it at once. No time of the edit is
    kept."""

    id = Serial(primary_key=True)
    idea = ForeignKey(references=Idea, null=False, index=True)
    editor = ForeignKey(references=User, null=False)
    #: the fields changed: {"title": ..., "problem": ..., ...}
    changes = JSON(default={})
    publish_at = Timestamptz(index=True)


class Submission(Table):
    """Who submitted an idea: the link that the blind promise hides."""

    id = Serial(primary_key=True)
    idea = ForeignKey(references=Idea, null=False, index=True)
    user = ForeignKey(references=User, null=False, index=True)
    #: "submitter", or "co_submitter" after a merge of their duplicate
    role = Varchar(length=20, default="submitter")
    #: credit opt-in: None = not chosen, True/False = chosen
    credit = Boolean(null=True, default=None)
    created_at = Timestamptz(default=ClockNow())


class IdeaTerm(Table):
    """Inverted index for similar-idea search."""

    id = Serial(primary_key=True)
    idea = ForeignKey(references=Idea, null=False, index=True)
    term = Varchar(length=40, index=True)
    weight = Real(default=1.0)


class TermDocFreq(Table):
    """Document frequency of each `IdeaTerm` term, kept by the services in
    the transaction that writes the terms: similar-search reads it instead of
    counting postings, so its cost does not grow with the board."""

    #: an indexed term; the empty term "" holds the number of indexed ideas
    term = Varchar(length=40, primary_key=True)
    #: how many ideas' term bags hold this term
    ideas = Integer(default=0)


class Follow(Table, tablename="idea_follow"):
    """Someone follows an idea: told of its new comments and status changes.
    The submitter follows their own idea from the start. No time is kept:
    the submitter's row would date their submission."""

    id = Serial(primary_key=True)
    idea = ForeignKey(references=Idea, null=False, index=True)
    user = ForeignKey(references=User, null=False, index=True)


class IdeaVector(Table):
    """Sentence embedding of an idea (ideas/embedding.py), one row an idea.

    The row is written as ``pending`` in the transaction that submits or edits
    the idea (the outbox of the embedding job); the worker then stores the
    vector (int8, 384 bytes) with the model version it came from. Searches
    read the rows changed since their last look (``updated_at``)."""

    idea = ForeignKey(references=Idea, null=False, unique=True)
    #: ideas.embedding.MODEL_VERSION of `vector`; "" while there is none
    model = Varchar(length=80, default="")
    vector = Bytea(null=True, default=None)
    #: the idea's text changed since `vector` was computed
    pending = Boolean(default=True, index=True)
    updated_at = Timestamptz(default=ClockNow(), index=True)


class Vote(Table):
    id = Serial(primary_key=True)
    idea = ForeignKey(references=Idea, null=False)
    user = ForeignKey(references=User, null=False, index=True)
    created_at = Timestamptz(default=ClockNow(), index=True)


class Participation(Table):
    """That a person took part (submitted or voted) in a quarter, under the
    department they belonged to at that moment: the only source of the
    participation figures. Append-only: a retracted vote, a later move or a
    deactivation changes no row, so a published quarter never changes. It
    holds no idea, so it links nobody to anything they wrote."""

    id = Serial(primary_key=True)
    user = UUID()
    department = Integer()
    #: "YYYY-Qn" (UTC)
    quarter = Varchar(length=7)
    created_at = Timestamptz(default=ClockNow())


class TriageSession(Table):
    id = Serial(primary_key=True)
    held_on = Date()
    opened_by = ForeignKey(references=User, null=False)
    created_at = Timestamptz(default=ClockNow())


class SessionAttendee(Table):
    id = Serial(primary_key=True)
    session = ForeignKey(references=TriageSession, null=False, index=True)
    user = ForeignKey(references=User, null=False)
    #: when the attendee confirmed attending (the opener at once); null until then
    confirmed_at = Timestamptz(null=True, default=None)


class AgendaItem(Table):
    id = Serial(primary_key=True)
    session = ForeignKey(references=TriageSession, null=False, index=True)
    idea = ForeignKey(references=Idea, null=False, index=True)
    position = Integer()
    #: accept / decline / duplicate / needs_info, or "" while undecided
    outcome = Varchar(length=20, default="")
    decided_by = ForeignKey(references=User, null=True)
    decided_at = Timestamptz(null=True, default=None)


class Event(Table):
    """A change to an idea, written in the change's transaction: the timeline
    entry (when `public`) and the outbox row the workers deliver."""

    id = Serial(primary_key=True)
    idea = ForeignKey(references=Idea, null=True, index=True)
    #: "status" (every status change, decisions and answers too), "action_assigned", "reveal"
    kind = Varchar(length=30)
    #: the idea's status after the event
    status = Varchar(length=20, default="")
    #: the public note shown on the timeline
    note = Text(default="")
    #: a role label: "CX council", "Submitter", "System", "Action owner"
    actor_label = Varchar(length=40, default="System")
    #: who acted: shown to council only, never in the public timeline
    actor = ForeignKey(references=User, null=True)
    session = ForeignKey(references=TriageSession, null=True)
    public = Boolean(default=True)
    #: extra data for delivery, e.g. {"target_idea_id": 4, "action_id": 9}
    data = JSON(default={})
    created_at = Timestamptz(default=ClockNow(), index=True)
    #: set once every notice of this event exists (the outbox is drained)
    dispatched_at = Timestamptz(null=True, default=None, index=True)
    attempts = Integer(default=0)


class Question(Table):
    id = Serial(primary_key=True)
    idea = ForeignKey(references=Idea, null=False, index=True)
    session = ForeignKey(references=TriageSession, null=True)
    question = Text()
    asked_at = Timestamptz(default=ClockNow())
    answer = Text(default="")
    answered_at = Timestamptz(null=True, default=None)
    #: an answer waiting for its batch (ideas.publish): the moment it is
    #: published (the idea goes back to review then); null once published
    publish_at = Timestamptz(null=True, default=None)


class Comment(Table):
    id = Serial(primary_key=True)
    idea = ForeignKey(references=Idea, null=False, index=True)
    author = ForeignKey(references=User, null=False)
    #: the text as written; rendered through nh3 on output
    body = Text()
    #: written by a council member acting as council
    as_council = Boolean(default=False)
    #: the author was a submitter of the idea when writing it: shown as
    #: "Submitter" (decided at write time, so a later merge changes no label)
    by_submitter = Boolean(default=False)
    #: the author was a co-submitter (by merge) when writing it: shown as
    #: "Co-submitter", never by name and never as "Submitter"
    by_co_submitter = Boolean(default=False)
    created_at = Timestamptz(default=ClockNow())
    #: the author edited it (allowed for COMMENT_EDIT_MINUTES after writing)
    edited_at = Timestamptz(null=True, default=None)
    #: the author deleted it: shown as "deleted", body no longer shown
    deleted_at = Timestamptz(null=True, default=None)
    #: its author deleted it (a comment shown as "Submitter", others seeing it
    #: already): deleted from this batch's moment on (ideas.publish), by the
    #: worker, so the comment does not vanish at the minute its author acted
    delete_at = Timestamptz(null=True, default=None)
    #: when others may see it (a "Submitter" comment waits for its batch,
    #: ideas.publish); null: at once
    published_at = Timestamptz(null=True, default=None)


class Action(Table):
    id = Serial(primary_key=True)
    idea = ForeignKey(references=Idea, null=False, index=True)
    title = Varchar(length=200)
    owner = ForeignKey(references=User, null=False, index=True)
    due_on = Date()
    #: todo / doing / done
    status = Varchar(length=10, default="todo")
    created_at = Timestamptz(default=ClockNow())
    done_at = Timestamptz(null=True, default=None)


class Notification(Table):
    """An in-app notice: exactly once per `dedup_key` (unique)."""

    id = Serial(primary_key=True)
    user = ForeignKey(references=User, null=False, index=True)
    event = ForeignKey(references=Event, null=True)
    idea = ForeignKey(references=Idea, null=True)
    kind = Varchar(length=40)
    text = Text()
    #: e.g. "event:42:user:<uuid>" or "overdue:7:2026-11-23:user:<uuid>"
    dedup_key = Varchar(length=200, unique=True)
    created_at = Timestamptz(default=ClockNow())
    read_at = Timestamptz(null=True, default=None)
    #: e-mail state: "" (none due), "pending", "sent", "failed", "off"
    email_status = Varchar(length=10, default="", index=True)
    email_attempts = Integer(default=0)
    email_sent_at = Timestamptz(null=True, default=None)
    email_error = Text(default="")


class ApiToken(Table):
    id = Serial(primary_key=True)
    user = ForeignKey(references=User, null=False, index=True)
    #: sha256 of the token; the token itself is shown once
    token_hash = Varchar(length=64, unique=True)
    created_at = Timestamptz(default=ClockNow())
    #: updated at most once a day (shown as a date)
    last_used_at = Timestamptz(null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)
    #: the owner's label for it, e.g. "laptop script"
    name = Varchar(length=80, default="")
    #: None only for tokens made before tokens expired: see ideas/people/accounts.py
    expires_at = Timestamptz(null=True, default=None)


class ScimToken(Table):
    """A SCIM client's bearer token (an identity provider provisioning people)."""

    id = Serial(primary_key=True)
    name = Varchar(length=80, default="")
    #: sha256 of the token; the token itself is shown once
    token_hash = Varchar(length=64, unique=True)
    created_by = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz(default=ClockNow())
    last_used_at = Timestamptz(null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)


class BrowserSession(Table):
    """Litestar's server-side session store, in the database."""

    id = Serial(primary_key=True)
    key = Varchar(length=128, unique=True)
    value = Text()
    expires_at = Timestamptz(null=True, default=None, index=True)
    #: the person signed in with it (None for a session nobody signed in
    #: to): the domain ends a person's sessions by it, never by `value`
    user_id = UUID(null=True, default=None, index=True)


class AuditLog(Table):
    id = Serial(primary_key=True)
    #: the person who acted, or None when the system did (named below)
    actor = ForeignKey(references=User, null=True)
    #: the System actor's name ("command line", "SCIM (<client>)", ...);
    #: "" for a person, and on entries written before it was kept
    system_actor = Varchar(length=80, default="")
    action = Varchar(length=60, index=True)
    target = Varchar(length=200, default="")
    #: what changed, e.g. {"roles": {"before": [...], "after": [...]}}
    details = JSON(default={})
    created_at = Timestamptz(default=ClockNow(), index=True)


class Setting(Table):
    id = Serial(primary_key=True)
    key = Varchar(length=60, unique=True)
    value = Varchar(length=200)


class Invitation(Table):
    """A one-time link to set a password: invitation or reset."""

    id = Serial(primary_key=True)
    user = ForeignKey(references=User, null=False, index=True)
    token_hash = Varchar(length=64, unique=True)
    purpose = Varchar(length=10, default="invite")
    created_at = Timestamptz(default=ClockNow())
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None)


class JobRun(Table):
    """A scheduled job's period, done once: keeps digests and reminders single."""

    id = Serial(primary_key=True)
    #: e.g. "digest:2026-W47" or "sla:2026-11-23"
    key = Varchar(length=120, unique=True)
    created_at = Timestamptz(default=ClockNow())


class WebhookEndpoint(Table):
    """Where Touchpoint posts events: an outgoing webhook (signed), a Teams
    Workflows URL or a Slack channel (through the bot token). Admins only."""

    id = Serial(primary_key=True)
    #: "webhook", "teams" or "slack"
    kind = Varchar(length=10, default="webhook")
    #: the URL posted to (webhook, teams), or the Slack channel id
    url = Varchar(length=2000)
    #: event names it receives, e.g. ["idea.shipped", "comment.created"]
    events = JSON(default=[])
    active = Boolean(default=True)
    #: "whsec_" + base64 (webhooks): shown once, when made or rotated
    secret = Varchar(length=100, default="")
    #: failed attempts in a row; a success resets it, the limit switches it off
    failures = Integer(default=0)
    #: why it was switched off ("" while active or switched off by an admin)
    disabled_reason = Varchar(length=200, default="")
    created_at = Timestamptz(default=ClockNow())


class WebhookDelivery(Table):
    """One message for one endpoint: every attempt sends it again, with the
    same `message_id` (the `webhook-id` header)."""

    id = Serial(primary_key=True)
    endpoint = ForeignKey(references=WebhookEndpoint, null=False, index=True)
    #: random, the same on every attempt
    message_id = Varchar(length=40, unique=True)
    #: what caused it; unique per endpoint, e.g. "event:42:idea.shipped"
    source = Varchar(length=120)
    #: event name, e.g. "idea.shipped", or "summary.weekly" (chat channels)
    event = Varchar(length=40)
    #: the envelope as JSON text, fixed when the delivery is made
    payload = Text()
    #: not sent before this moment (batched events wait for their release)
    due_at = Timestamptz()
    #: "pending", "delivered", "failed" (gave up), "skipped" (endpoint off)
    state = Varchar(length=10, default="pending", index=True)
    attempts = Integer(default=0)
    next_attempt_at = Timestamptz(null=True, default=None, index=True)
    created_at = Timestamptz(default=ClockNow())
    delivered_at = Timestamptz(null=True, default=None)


class WebhookAttempt(Table):
    """The delivery log: one row per attempt."""

    id = Serial(primary_key=True)
    delivery = ForeignKey(references=WebhookDelivery, null=False, index=True)
    endpoint = ForeignKey(references=WebhookEndpoint, null=False, index=True)
    attempted_at = Timestamptz(default=ClockNow(), index=True)
    #: the HTTP status, None when no answer came (refused, timed out)
    status_code = Integer(null=True, default=None)
    ok = Boolean(default=False)
    latency_ms = Integer(default=0)
    #: the start of the answer's body, or what went wrong
    response_excerpt = Text(default="")
