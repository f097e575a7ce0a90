"""SCIM 2.0 provisioning (RFC 7643/7644): the identity provider creates,
changes and deactivates people here, through `scim2-models`.

- **Users** are people. `userName` is kept as sent (people made otherwise
  answer their e-mail address); the e-mail address is `userName` when it is
  one, else the primary of `emails`. `displayName` (or `name`) is the name,
  `title` the job title, the enterprise extension's `department` the
  department. `active: false` deactivates: sessions and API tokens end at
  once. DELETE deactivates too and hides the person from SCIM; the person
  stays, because their ideas, votes and the council's history stay.
- **Groups are departments** (a person is in exactly one). Adding someone to
  a group moves them there; removing them moves them to the default
  department. Roles (council, leader, admin) are not groups here: they are
  powers over the blind review, granted on Touchpoint's admin pages or from
  the provider's groups at sign-in (OIDC_GROUP_ROLES), never by whoever
  holds a provisioning token.
- People are made and changed through the people service
  (`ideas.people.provisioning`): the same "person.create"/"person.update"
  entries as the admin pages, via SCIM; deactivation, reactivation and
  removal are "scim.user.*", departments "scim.group.*"; the actor is the
  token's name.
- Errors are SCIM errors (`ScimError` → `urn:…:Error`).

The package: `base` (the User model, errors, parsing), `tokens` (the
provider's credential, the audit), `users`, `groups`, `filters` (the `eq`
filter, paging, `attributes=`), `discovery` (schemas, resource types, the
service provider configuration).
"""

from ideas.integrations.scim.base import DEFAULT_COUNT, MAX_COUNT, ScimError
from ideas.integrations.scim.discovery import (
    USER_ATTRIBUTES,
    resource_type,
    resource_types,
    schema,
    schemas,
    service_provider_config,
)
from ideas.integrations.scim.filters import attribute_names, list_response, project, project_list
from ideas.integrations.scim.groups import (
    create_group,
    delete_group,
    get_group,
    list_groups,
    patch_group,
    replace_group,
)
from ideas.integrations.scim.tokens import (
    ScimClient,
    client_by_token,
    create_token,
    list_tokens,
    revoke_token,
)
from ideas.integrations.scim.users import (
    create_user,
    delete_user,
    get_user,
    list_users,
    patch_user,
    replace_user,
)

__all__ = [
    "DEFAULT_COUNT",
    "MAX_COUNT",
    "USER_ATTRIBUTES",
    "ScimClient",
    "ScimError",
    "attribute_names",
    "client_by_token",
    "create_group",
    "create_token",
    "create_user",
    "delete_group",
    "delete_user",
    "get_group",
    "get_user",
    "list_groups",
    "list_response",
    "list_tokens",
    "list_users",
    "patch_group",
    "patch_user",
    "project",
    "project_list",
    "replace_group",
    "replace_user",
    "resource_type",
    "resource_types",
    "revoke_token",
    "schema",
    "schemas",
    "service_provider_config",
]
