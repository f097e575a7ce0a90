"""What every SCIM resource shares: the User model with the enterprise
extension, paging limits, SCIM errors, a resource's location, parsing a body."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from scim2_models import (
    Context,
    EnterpriseUser,
    User,
)

from ideas.errors import DomainError

UserResource = User[EnterpriseUser]
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
MAX_COUNT = 200
DEFAULT_COUNT = 100


class ScimError(DomainError):
    """An answer in SCIM's error format (RFC 7644 §3.12)."""

    def __init__(self, status: int, detail: str, scim_type: str | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.scim_type = scim_type

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
            "status": str(self.status),
            "detail": self.detail,
        }
        if self.scim_type:
            body["scimType"] = self.scim_type
        return body


def _not_found(kind: str) -> ScimError:
    return ScimError(404, f"no such {kind}")


def _location(base_url: str, kind: str, ident: str) -> str:
    return f"{base_url}/scim/v2/{kind}/{ident}"


def _parse(model: Any, body: Any, context: Context) -> Any:
    if not isinstance(body, dict):
        raise ScimError(400, "the body must be a JSON object", "invalidSyntax")
    try:
        return model.model_validate(body, scim_ctx=context)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise ScimError(400, f"{where}: {first['msg']}", "invalidValue") from None
