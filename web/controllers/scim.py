"""SCIM 2.0 at `/scim/v2` (RFC 7644), for the identity provider's
provisioning: callers authenticate with a SCIM bearer token (made by an
admin, see ideas/integrations/scim/), never with a person's session or
API token. Every answer, errors included, is `application/scim+json`."""

from __future__ import annotations

import json
import logging
from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, get, patch, post, put, route
from litestar.connection import ASGIConnection
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.handlers.base import BaseRouteHandler
from litestar.params import FromPath, QueryParameter
from scim2_models import Context, SearchRequest

from ideas.errors import DomainError
from ideas.integrations import scim
from ideas.integrations.scim import ScimClient, ScimError

MEDIA = "application/scim+json"
log = logging.getLogger("touchpoint.scim")


def _bearer(connection: ASGIConnection) -> str:
    kind, _, token = connection.headers.get("authorization", "").partition(" ")
    return token.strip() if kind.lower() == "bearer" else ""


async def scim_client(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """Guard: a working SCIM token, and nothing else, opens /scim/v2."""
    token = _bearer(connection)
    client = await scim.client_by_token(token) if token else None
    if client is None:
        raise NotAuthorizedException("a SCIM bearer token is needed")
    connection.scope["scim_client"] = client


def _client(request: Request) -> ScimClient:
    return request.scope["scim_client"]


def answer(body: Any, status: int = 200, location: str | None = None) -> Response:
    headers = {"Location": location} if location else None
    return Response(
        content=json.dumps(body, default=str).encode(),
        media_type=MEDIA,
        status_code=status,
        headers=headers,
    )


def scim_error_answer(_: Request, exc: Exception) -> Response:
    if isinstance(exc, ScimError):
        error = exc
    elif isinstance(exc, NotAuthorizedException):
        error = ScimError(401, "a SCIM bearer token is needed")
    elif isinstance(exc, DomainError):
        error = ScimError(exc.status, exc.detail)
    elif isinstance(exc, HTTPException):
        detail = exc.detail if isinstance(exc.detail, str) else "the request was refused"
        error = ScimError(
            exc.status_code, detail, "invalidValue" if exc.status_code == 400 else None
        )
    else:
        log.error("SCIM request failed", exc_info=exc)
        error = ScimError(500, "internal error")
    response = answer(error.body(), error.status)
    if error.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="SCIM"'
    return response


async def _body(request: Request) -> Any:
    raw = await request.body()
    if len(raw) > 1_000_000:
        raise ScimError(413, "the body is too large", "tooLarge")
    try:
        return json.loads(raw or b"null")
    except ValueError:
        raise ScimError(400, "the body is not JSON", "invalidSyntax") from None


def _base(request: Request) -> str:
    return request.app.state.settings.base_url


StartIndex = Annotated[int | None, QueryParameter(name="startIndex", ge=1, le=10_000_000)]
Count = Annotated[int | None, QueryParameter(name="count", ge=0, le=100_000)]
Filter = Annotated[str | None, QueryParameter(name="filter", max_length=500)]
Excluded = Annotated[str | None, QueryParameter(name="excludedAttributes", max_length=500)]
Attributes = Annotated[str | None, QueryParameter(name="attributes", max_length=500)]


def _with_members(attributes: Any, excluded: Any) -> bool:
    """Members are looked up only when they will be answered."""
    names = {n.lower() for n in scim.attribute_names(attributes)}
    if names:
        return "members" in names or any(n.startswith("members.") for n in names)
    return "members" not in {n.lower() for n in scim.attribute_names(excluded)}


def _search(body: Any) -> SearchRequest:
    if not isinstance(body, dict):
        raise ScimError(400, "the body must be a SearchRequest object", "invalidSyntax")
    try:
        return SearchRequest.model_validate(body, scim_ctx=Context.SEARCH_REQUEST)
    except ValueError as exc:
        raise ScimError(400, str(exc).splitlines()[0][:200], "invalidValue") from None


class ScimController(Controller):
    path = "/scim/v2"
    guards = [scim_client]
    include_in_schema = False
    # every key the app maps too (the most specific class wins across layers)
    exception_handlers = {
        kind: scim_error_answer
        for kind in (
            ScimError,
            DomainError,
            NotAuthorizedException,
            PermissionDeniedException,
            ValidationException,
            NotFoundException,
            HTTPException,
            Exception,
        )
    }

    # -- discovery --
    @get("/ServiceProviderConfig")
    async def service_provider_config(self, request: Request) -> Response:
        return answer(scim.service_provider_config(_base(request)))

    @get("/ResourceTypes")
    async def resource_types(self, request: Request) -> Response:
        items = scim.resource_types(_base(request))
        return answer(scim.list_response(items, len(items), 1))

    @get("/ResourceTypes/{type_id:str}")
    async def resource_type(self, request: Request, type_id: FromPath[str]) -> Response:
        return answer(scim.resource_type(_base(request), type_id))

    @get("/Schemas")
    async def schemas(self, request: Request) -> Response:
        items = scim.schemas(_base(request))
        return answer(scim.list_response(items, len(items), 1))

    @get("/Schemas/{schema_id:str}")
    async def schema(self, request: Request, schema_id: FromPath[str]) -> Response:
        return answer(scim.schema(_base(request), schema_id))

    @post("/.search", status_code=200)
    async def search_all(self, request: Request) -> Response:
        """A search across resource types: people, then departments."""
        search = _search(await _body(request))
        wanted = (search.filter or "").strip().lower()
        base = _base(request)
        found: list[dict[str, Any]] = []
        if not wanted.startswith("displayname"):
            users = await scim.list_users(search.filter, 1, scim.MAX_COUNT, base)
            found += users["Resources"]
        if not wanted or wanted.startswith("displayname"):
            groups = await scim.list_groups(search.filter, 1, scim.MAX_COUNT, base, False)
            found += groups["Resources"]
        start = max(1, search.start_index or 1)
        size = scim.DEFAULT_COUNT if search.count is None else min(search.count, scim.MAX_COUNT)
        page = found[start - 1 : start - 1 + size]
        listed = scim.list_response(page, len(found), start)
        return answer(scim.project_list(listed, search.attributes, search.excluded_attributes))

    # -- users --
    @get("/Users")
    async def list_users(
        self,
        request: Request,
        filter: Filter = None,
        start_index: StartIndex = None,
        count: Count = None,
        attributes: Attributes = None,
        excluded: Excluded = None,
    ) -> Response:
        found = await scim.list_users(filter, start_index, count, _base(request))
        return answer(scim.project_list(found, attributes, excluded))

    @post("/Users/.search", status_code=200)
    async def search_users(self, request: Request) -> Response:
        search = _search(await _body(request))
        found = await scim.list_users(
            search.filter, search.start_index, search.count, _base(request)
        )
        return answer(scim.project_list(found, search.attributes, search.excluded_attributes))

    @post("/Users")
    async def create_user(self, request: Request) -> Response:
        made = await scim.create_user(_client(request), await _body(request), _base(request))
        return answer(made, 201, made["meta"]["location"])

    @get("/Users/{user_id:str}")
    async def get_user(
        self,
        request: Request,
        user_id: FromPath[str],
        attributes: Attributes = None,
        excluded: Excluded = None,
    ) -> Response:
        found = await scim.get_user(user_id, _base(request))
        return answer(scim.project(found, attributes, excluded))

    @put("/Users/{user_id:str}")
    async def replace_user(self, request: Request, user_id: FromPath[str]) -> Response:
        body = await _body(request)
        return answer(await scim.replace_user(_client(request), user_id, body, _base(request)))

    @patch("/Users/{user_id:str}")
    async def patch_user(self, request: Request, user_id: FromPath[str]) -> Response:
        body = await _body(request)
        return answer(await scim.patch_user(_client(request), user_id, body, _base(request)))

    @delete("/Users/{user_id:str}", status_code=204)
    async def delete_user(self, request: Request, user_id: FromPath[str]) -> None:
        await scim.delete_user(_client(request), user_id)

    # -- groups (departments) --
    @get("/Groups")
    async def list_groups(
        self,
        request: Request,
        filter: Filter = None,
        start_index: StartIndex = None,
        count: Count = None,
        attributes: Attributes = None,
        excluded: Excluded = None,
    ) -> Response:
        found = await scim.list_groups(
            filter, start_index, count, _base(request), _with_members(attributes, excluded)
        )
        return answer(scim.project_list(found, attributes, excluded))

    @post("/Groups/.search", status_code=200)
    async def search_groups(self, request: Request) -> Response:
        search = _search(await _body(request))
        found = await scim.list_groups(
            search.filter,
            search.start_index,
            search.count,
            _base(request),
            _with_members(search.attributes, search.excluded_attributes),
        )
        return answer(scim.project_list(found, search.attributes, search.excluded_attributes))

    @post("/Groups")
    async def create_group(self, request: Request) -> Response:
        made = await scim.create_group(_client(request), await _body(request), _base(request))
        return answer(made, 201, made["meta"]["location"])

    @get("/Groups/{group_id:str}")
    async def get_group(
        self,
        request: Request,
        group_id: FromPath[str],
        attributes: Attributes = None,
        excluded: Excluded = None,
    ) -> Response:
        found = await scim.get_group(group_id, _base(request), _with_members(attributes, excluded))
        return answer(scim.project(found, attributes, excluded))

    @put("/Groups/{group_id:str}")
    async def replace_group(self, request: Request, group_id: FromPath[str]) -> Response:
        body = await _body(request)
        return answer(await scim.replace_group(_client(request), group_id, body, _base(request)))

    @patch("/Groups/{group_id:str}")
    async def patch_group(self, request: Request, group_id: FromPath[str]) -> Response:
        body = await _body(request)
        return answer(await scim.patch_group(_client(request), group_id, body, _base(request)))

    @delete("/Groups/{group_id:str}", status_code=204)
    async def delete_group(self, request: Request, group_id: FromPath[str]) -> None:
        await scim.delete_group(_client(request), group_id)

    @route("/{rest:path}", http_method=["GET", "POST", "PUT", "PATCH", "DELETE"])
    async def unknown(self, rest: FromPath[str]) -> Response:
        """Anything else under /scim/v2: a SCIM 404."""
        raise ScimError(404, "no such SCIM endpoint")


ROUTES = [ScimController]
