"""The invigilation policy (invigilation/policy.yaml), loaded and checked at start-up."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, Field

POLICY_FILE = Path(__file__).resolve().parent.parent / "invigilation" / "policy.yaml"


class Choice(BaseModel):
    key: str
    name: str


class CheckItem(BaseModel):
    key: str
    text: str


class Ratio(BaseModel):
    apprentices_per_invigilator: int = Field(ge=1)


class Identity(BaseModel):
    documents: list[Choice]
    last_digits: int = Field(ge=1, le=8)


class Remote(BaseModel):
    checklist: list[CheckItem]


class Warnings(BaseModel):
    idle_minutes: int = Field(ge=1)


class Policy(BaseModel):
    version: str
    ratio: Ratio
    identity: Identity
    venue_checklist: list[CheckItem]
    remote: Remote
    incident_types: list[Choice]
    warnings: Warnings

    def incident_name(self, key: str) -> str:
        return next((c.name for c in self.incident_types if c.key == key), key)

    def checklist_for(self, remote: bool) -> list[CheckItem]:
        return self.remote.checklist if remote else self.venue_checklist


@lru_cache(maxsize=4)
def load_policy(path: Path = POLICY_FILE) -> Policy:
    with open(path, encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    data["version"] = str(data.get("version"))
    return Policy.model_validate(data)
