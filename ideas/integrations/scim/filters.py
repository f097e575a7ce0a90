"""Listing: the `eq` filter, paging, the ListResponse, and `attributes=` /
`excludedAttributes=` (RFC 7644 §3.9)."""

from __future__ import annotations

import re
from typing import Any

from ideas.integrations.scim.base import DEFAULT_COUNT, ENTERPRISE, MAX_COUNT, ScimError

_EQ = re.compile(r'^\s*([A-Za-z.:0-9]+)\s+eq\s+"((?:[^"\\]|\\.)*)"\s*$', re.IGNORECASE)


def _eq_filter(raw: str | None, allowed: dict[str, str]) -> tuple[str, str] | None:
    """`attribute eq "value"` for the attributes named in `allowed` (lower
    case → what it filters); anything else is refused as SCIM says."""
    if raw is None or not raw.strip():
        return None
    match = _EQ.match(raw)
    if not match or match.group(1).lower() not in allowed:
        raise ScimError(
            400,
            f"only {' or '.join(repr(a + ' eq') for a in allowed)} filters are supported",
            "invalidFilter",
        )
    value = match.group(2).replace('\\"', '"').replace("\\\\", "\\")
    return allowed[match.group(1).lower()], value


def _paging(start_index: int | None, count: int | None) -> tuple[int, int]:
    start = max(1, start_index or 1)
    size = DEFAULT_COUNT if count is None else max(0, min(MAX_COUNT, count))
    return start, size


def list_response(resources: list[dict], total: int, start: int) -> dict[str, Any]:
    return {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": total,
        "startIndex": start,
        "itemsPerPage": len(resources),
        "Resources": resources,
    }


# -- attributes= and excludedAttributes= (RFC 7644 §3.9) ------------------------------

ALWAYS_RETURNED = {"schemas", "id", "meta"}


def attribute_names(raw: str | list[str] | None) -> list[str]:
    if raw is None:
        return []
    items = raw.split(",") if isinstance(raw, str) else raw
    return [str(i).strip() for i in items if str(i).strip()]


def _split(name: str) -> tuple[str, str | None]:
    """("urn:…:User", "department") for an extension attribute, ("title", None)
    for a core one (sub-attributes count as their parent)."""
    for urn in (ENTERPRISE,):
        if name.lower().startswith(urn.lower()):
            rest = name[len(urn) :].lstrip(":")
            return urn, (rest.split(".")[0] or None)
    if name.lower().startswith("urn:"):
        name = name.rpartition(":")[2]
    return name.split(".")[0], None


def project(
    resource: dict[str, Any],
    attributes: str | list[str] | None,
    excluded: str | list[str] | None,
) -> dict[str, Any]:
    """Only the attributes asked for (plus schemas, id, meta), or all but the
    excluded ones."""
    lower = {key.lower(): key for key in resource}
    wanted = attribute_names(attributes)
    if wanted:
        kept: dict[str, Any] = {}
        for name in wanted:
            top, sub = _split(name)
            key = lower.get(top.lower())
            if key is None:
                continue
            if sub and isinstance(resource[key], dict):
                inner = {k: v for k, v in resource[key].items() if k.lower() == sub.lower()}
                kept[key] = {**kept.get(key, {}), **inner}
            else:
                kept[key] = resource[key]
        return {**{k: v for k, v in resource.items() if k in ALWAYS_RETURNED}, **kept}
    out = dict(resource)
    for name in attribute_names(excluded):
        top, sub = _split(name)
        key = lower.get(top.lower())
        if key is None or key in ALWAYS_RETURNED:
            continue
        if sub and isinstance(out.get(key), dict):
            out[key] = {k: v for k, v in out[key].items() if k.lower() != sub.lower()}
        else:
            out.pop(key, None)
    return out


def project_list(listed: dict[str, Any], attributes: Any, excluded: Any) -> dict[str, Any]:
    return {**listed, "Resources": [project(r, attributes, excluded) for r in listed["Resources"]]}
