"""Outgoing webhooks and chat channels: more deliverers on the outbox.

- `plan_event(event_id)` (called by the worker's per-event job, before the
  event is marked dispatched) makes one delivery per subscribed endpoint of
  a status event: `idea.status_changed`, and `idea.shipped` / `idea.merged`.
- `release_batched(now)` (a periodic job) makes the deliveries of new ideas
  (`idea.submitted`) and comments (`comment.created`) made before the last
  release boundary, a multiple of PUBLISH_DELAY_MINUTES (UTC): a channel
  learns of them in a batch, never at the moment someone acted. A status
  event caused by a submitter (an answer to the council) waits the same way.
- `attempt_delivery(id)` sends one delivery once: signed per Standard
  Webhooks (`standardwebhooks`), through the SSRF guard, with a timeout and
  a cap on the answer read. A failure is retried with exponential back-off
  for a bounded time, always with the same `webhook-id`; an endpoint that
  fails `disable_after` times in a row is switched off and admins are told.

Each delivery is unique per (endpoint, source) (a unique index), so a re-run
after a crash adds nothing twice. Payloads carry the idea as a plain staff
member sees it (ideas.blind), never a submitter, their department or a time
finer than the release window.

The package, one file a job: `events` (what channels subscribe to, the
release windows), `subscriptions` (the admins' endpoints), `payloads` (the
idea through the blind projection, the envelope), `planning` (making
deliveries), `signing` (Standard Webhooks), `sending` (one attempt, retries).
"""

from ideas.integrations.webhooks.events import (
    CHAT_EVENTS,
    DELIVER_WEBHOOK,
    EVENTS,
    job_id,
    last_boundary,
    release_at,
)
from ideas.integrations.webhooks.payloads import staff_ideas
from ideas.integrations.webhooks.planning import (
    due_deliveries,
    plan_event,
    plan_summary,
    release_batched,
)
from ideas.integrations.webhooks.sending import (
    EXCERPT,
    Answer,
    Tuning,
    attempt_delivery,
    post_checked,
)
from ideas.integrations.webhooks.subscriptions import (
    AttemptOut,
    WebhookCreated,
    WebhookIn,
    WebhookOut,
    create_endpoint,
    delete_endpoint,
    get_endpoint,
    list_attempts,
    list_endpoints,
    rotate_secret,
    send_again,
    set_active,
)

__all__ = [
    "CHAT_EVENTS",
    "DELIVER_WEBHOOK",
    "EVENTS",
    "EXCERPT",
    "Answer",
    "AttemptOut",
    "Tuning",
    "WebhookCreated",
    "WebhookIn",
    "WebhookOut",
    "attempt_delivery",
    "create_endpoint",
    "delete_endpoint",
    "due_deliveries",
    "get_endpoint",
    "job_id",
    "last_boundary",
    "list_attempts",
    "list_endpoints",
    "plan_event",
    "plan_summary",
    "post_checked",
    "release_at",
    "release_batched",
    "rotate_secret",
    "send_again",
    "set_active",
    "staff_ideas",
]
