"""Every route handler of the app, gathered from one module per resource.
A module adds its handlers to its own ROUTES list."""

from web.controllers import (
    admin,
    api_auth,
    api_ideas,
    delivery,
    duplicates,
    editing,
    health,
    leaders,
    notifications,
    pages,
    profile,
    scim,
    slack,
    sso,
    triage,
    unsubscribe,
    webhooks,
)

ROUTE_HANDLERS = [
    *api_auth.ROUTES,
    *api_ideas.ROUTES,
    *health.ROUTES,
    *pages.ROUTES,
    *profile.ROUTES,
    *sso.ROUTES,
    *scim.ROUTES,
    *triage.ROUTES,
    *duplicates.ROUTES,
    *delivery.ROUTES,
    *notifications.ROUTES,
    *leaders.ROUTES,
    *admin.ROUTES,
    *editing.ROUTES,
    *unsubscribe.ROUTES,
    *webhooks.ROUTES,
    *slack.ROUTES,
]
