"""Discovery: the schemas (trimmed to what Touchpoint keeps), resource types
and the service provider configuration."""

from __future__ import annotations

from typing import Any

from scim2_models import (
    AuthenticationScheme,
    Bulk,
    ChangePassword,
    Context,
    EnterpriseUser,
    ETag,
    Filter,
    Group,
    Meta,
    Patch,
    ResourceType,
    Schema,
    ServiceProviderConfig,
    Sort,
    User,
)

from ideas.integrations.scim.base import MAX_COUNT, UserResource, _location, _not_found

# -- discovery ------------------------------------------------------------------------

#: what Touchpoint keeps of a User and a Group: the schemas say only that
#: (`name` and an e-mail's `type` are read on input but not kept: Touchpoint
#: has one display name and one work address)
USER_ATTRIBUTES = {"userName", "displayName", "title", "active", "emails"}
EMAIL_ATTRIBUTES = {"value"}
MEMBER_ATTRIBUTES = {"value", "$ref", "type"}
ENTERPRISE_ATTRIBUTES = {"department"}


#: what every person has in Touchpoint (input without them is taken, with defaults)
REQUIRED = {"userName", "displayName", "active", "emails", "department"}


def _trim(schema: Schema, keep: set[str], sub: dict[str, set[str]] | None = None) -> Schema:
    schema = schema.model_copy(deep=True)
    schema.attributes = [a for a in schema.attributes or [] if a.name in keep]
    for attribute in schema.attributes:
        if attribute.name in REQUIRED:
            attribute.required = True
            for sub_attribute in attribute.sub_attributes or []:
                if sub_attribute.name == "value":
                    sub_attribute.required = True
        if sub and attribute.name in sub and attribute.sub_attributes:
            attribute.sub_attributes = [
                s for s in attribute.sub_attributes if s.name in sub[attribute.name]
            ]
    return schema


def _schemas() -> list[Schema]:
    return [
        _trim(User.to_schema(), USER_ATTRIBUTES, {"emails": EMAIL_ATTRIBUTES}),
        _trim(EnterpriseUser.to_schema(), ENTERPRISE_ATTRIBUTES),
        _trim(Group.to_schema(), {"displayName", "members"}, {"members": MEMBER_ATTRIBUTES}),
    ]


def _with_meta(obj: Any, base_url: str, kind: str, ident: str) -> dict[str, Any]:
    obj.meta = Meta(resource_type=kind, location=_location(base_url, kind + "s", ident))
    return obj.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)


def schemas(base_url: str) -> list[dict[str, Any]]:
    return [_with_meta(s, base_url, "Schema", s.id) for s in _schemas()]


def schema(base_url: str, schema_id: str) -> dict[str, Any]:
    for s in schemas(base_url):
        if s["id"] == schema_id:
            return s
    raise _not_found("Schema")


def resource_types(base_url: str) -> list[dict[str, Any]]:
    user_type = ResourceType.from_resource(UserResource)
    for extension in user_type.schema_extensions or []:
        extension.required = True  # every person has a department
    types = [user_type, ResourceType.from_resource(Group)]
    return [_with_meta(t, base_url, "ResourceType", t.id) for t in types]


def resource_type(base_url: str, type_id: str) -> dict[str, Any]:
    for t in resource_types(base_url):
        if t["id"] == type_id:
            return t
    raise _not_found("ResourceType")


def service_provider_config(base_url: str) -> dict[str, Any]:
    config = ServiceProviderConfig(
        documentation_uri=None,
        patch=Patch(supported=True),
        bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
        filter=Filter(supported=True, max_results=MAX_COUNT),
        change_password=ChangePassword(supported=False),
        sort=Sort(supported=False),
        etag=ETag(supported=False),
        authentication_schemes=[
            AuthenticationScheme(
                type="oauthbearertoken",
                name="Bearer token",
                description="A SCIM token an admin made on Touchpoint's admin pages "
                "or with `touchpoint scim token create`",
                primary=True,
            )
        ],
        meta=Meta(
            resource_type="ServiceProviderConfig",
            location=f"{base_url}/scim/v2/ServiceProviderConfig",
        ),
    )
    return config.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
