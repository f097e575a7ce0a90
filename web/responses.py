"""The app's response class: pydantic models to JSON in one step."""

from __future__ import annotations

from typing import Any

from litestar import Response
from litestar.serialization import default_serializer
from litestar.types import Serializer
from pydantic import BaseModel

_JSON = "application/json"


class ModelResponse(Response):
    """A pydantic model answered as JSON is written by pydantic-core straight
    to bytes. Litestar's own path turns it into Python objects first
    (``model_dump(mode="json")``: a dict, a string and a number object per
    field of every card on a page) and then encodes those with msgspec; the
    bytes are the same (tests/test_responses.py), the work about half.
    Anything else is rendered as Litestar does."""

    def render(
        self, content: Any, media_type: str, enc_hook: Serializer = default_serializer
    ) -> bytes:
        if isinstance(content, BaseModel) and media_type == _JSON:
            return content.__pydantic_serializer__.to_json(content)
        return super().render(content, media_type, enc_hook)
