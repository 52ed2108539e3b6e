"""Request bodies of the API (pydantic): what a client may send, documented in /docs."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field

Lang = Literal["zh", "en"]
Mode = Literal["personalized", "non_personalized"]
RequestKind = Literal["access", "export", "correct", "delete_tag", "delete", "object",
                      "withdraw", "explain"]
ComplaintKind = Literal["wrong_tag", "unfair_price", "unwanted_marketing"]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TagCorrection(Body):
    value: str = Field(min_length=1, max_length=200)
    reason: str | None = Field(default=None, max_length=1000)


class TagDeletion(Body):
    reason: str | None = Field(default=None, max_length=1000)


class ConsentChange(Body):
    recipient: str | None = Field(default=None, max_length=128)


class Switches(Body):
    stop_profiling: bool | None = None
    non_personalized: bool | None = None


class NewRequest(Body):
    kind: RequestKind
    details: dict[str, Any] = Field(default_factory=dict)


class StaffRequest(NewRequest):
    user: str = Field(min_length=1, max_length=128)
    verified_by: str = Field(min_length=1, max_length=200,
                             description="how the requester's identity was checked")


class Completion(Body):
    outcome: Literal["done", "refused"]
    reason: str = Field(min_length=1, max_length=2000,
                        description="what the person is told (required, PIPL 50)")


class NewComplaint(Body):
    kind: ComplaintKind
    text: str = Field(min_length=1, max_length=4000)


class Resolution(Body):
    resolution: str = Field(min_length=1, max_length=4000)


class AudienceQuery(Body):
    expression: str = Field(min_length=1, max_length=2000)
    purpose: str = Field(min_length=1, max_length=64)
    recipient: str | None = Field(default=None, max_length=128)


class Decision(Body):
    reason: str | None = Field(default=None, max_length=2000)

#: ids of rows in the operational store (an integer the databases can hold)
RowId = Annotated[int, Path(ge=1, le=2**31 - 1, description="id of the row")]
