"""The OpenAPI description says exactly what the API accepts (schema
fuzzing holds it to that, tests/test_schema_fuzz.py):

- input models that refuse unknown fields say `additionalProperties: false`;
- a text field trimmed of surrounding whitespace before its length is
  checked carries that rule as a `pattern` (a raw `minLength` would promise
  that eight spaces make a title);
- no input text may hold U+0000 (PostgreSQL cannot store it; the app refuses
  it with 400 before any handler, see `refuse_nul_characters` in web/app.py),
  nor a bidirectional control (U+202A–U+202E, U+2066–U+2069: issue 13,
  `refuse_bidi_controls`).
"""

from __future__ import annotations

from typing import Annotated, Any, get_args, get_origin

from litestar.openapi.spec import OpenAPI, OpenAPIType, Reference, Schema
from litestar.plugins.pydantic import PydanticSchemaPlugin
from pydantic import StringConstraints

#: any character but U+0000 and the bidirectional controls (refused in every
#: request, see `refuse_bidi_controls` in web/app.py), and the same without
#: whitespace
_CHAR = r"[^\x00\u202a-\u202e\u2066-\u2069]"
_SOLID = r"[^\s\x00\u202a-\u202e\u2066-\u2069]"
NO_NUL = rf"^{_CHAR}*$"


def trimmed_length_pattern(low: int, high: int | None) -> str:
    """A regular expression true when the text holds no U+0000 and, stripped
    of surrounding whitespace (`str.strip()`), is `low` to `high` characters
    long. The first non-space character must be the text's first after the
    leading whitespace, the last one its last before the trailing whitespace,
    so what lies between them is the stripped length minus two."""
    upper = "" if high is None else str(max(high - 2, 0))
    if low <= 1:
        inner = "" if high == 1 else f"(?:{_CHAR}{{0,{upper}}}{_SOLID})?"
        core = f"{_SOLID}{inner}"
        if low == 0:
            core = f"(?:{core})?"
    else:
        core = f"{_SOLID}{_CHAR}{{{low - 2},{upper}}}{_SOLID}"
    return rf"^\s*{core}\s*$"


class StrictModelsSchemaPlugin(PydanticSchemaPlugin):
    """Pydantic models as Litestar describes them, plus `additionalProperties:
    false` for `extra="forbid"` and the trimmed-length rule of stripped text."""

    @classmethod
    def for_pydantic_model(cls, field_definition, schema_creator):  # type: ignore[override]
        schema = super().for_pydantic_model(field_definition, schema_creator)
        model = field_definition.annotation
        if model.model_config.get("extra") == "forbid":
            schema.additional_properties = False
        for name, field in model.model_fields.items():
            rule = _trim_rule(field.metadata, field.annotation)
            prop = (schema.properties or {}).get(field.alias or name)
            if rule is None or not isinstance(prop, Schema):
                continue
            low, high = rule.min_length or 0, rule.max_length
            span = f"{low}–{high}" if high is not None else f"at least {low}"
            said = f"{span} characters once surrounding whitespace is trimmed"
            for text in _strings(prop):
                text.pattern = trimmed_length_pattern(low, high)
                text.min_length = text.max_length = None
                text.description = " ".join(filter(None, [text.description, said]))
        return schema


def _trim_rule(metadata: list[Any], annotation: Any) -> StringConstraints | None:
    """The stripping string constraints of a field, also inside `X | None`."""
    found = [m for m in metadata if isinstance(m, StringConstraints) and m.strip_whitespace]
    for arg in get_args(annotation):
        if get_origin(arg) is Annotated:
            found += [m for m in get_args(arg)[1:] if isinstance(m, StringConstraints)]
    return next((m for m in found if m.strip_whitespace), None)


def _strings(schema: Schema) -> list[Schema]:
    if schema.type == OpenAPIType.STRING:
        return [schema]
    options = [*(schema.one_of or []), *(schema.any_of or [])]
    return [o for o in options if isinstance(o, Schema) and o.type == OpenAPIType.STRING]


def forbid_nul_in_input(openapi: OpenAPI) -> None:
    """Every free text a request carries (parameters and bodies) says it holds
    no U+0000: a `pattern` where it has none (the trimmed-length ones already
    exclude it). Dates, enums and other formats cannot hold it anyway."""
    components = openapi.components.schemas if openapi.components else {}
    seen: set[int] = set()

    def visit(node: Any) -> None:
        if isinstance(node, Reference):
            node = (components or {}).get(node.ref.rsplit("/", 1)[-1])
        if not isinstance(node, Schema) or id(node) in seen:
            return
        seen.add(id(node))
        plain_text = node.type == OpenAPIType.STRING and not (node.enum or node.format)
        if plain_text and node.const is None and node.pattern is None:
            node.pattern = NO_NUL
        for child in (
            *(node.properties or {}).values(),
            *(node.one_of or []),
            *(node.any_of or []),
            *(node.all_of or []),
            node.items,
        ):
            visit(child)

    for path_item in (openapi.paths or {}).values():
        for method in ("get", "put", "post", "delete", "patch"):
            operation = getattr(path_item, method, None)
            if operation is None:
                continue
            for parameter in operation.parameters or []:
                visit(getattr(parameter, "schema", None))
            if operation.request_body is not None and not isinstance(
                operation.request_body, Reference
            ):
                for media in (operation.request_body.content or {}).values():
                    visit(media.schema)
