"""The invigilation policy (invigilation/policy.yaml), loaded and checked at start-up."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

POLICY_FILE = Path(__file__).resolve().parent.parent / "invigilation" / "policy.yaml"


class Strict(BaseModel):
    """Unknown keys are refused: a sentence cut at a comma in a YAML flow mapping shows up as one."""

    model_config = ConfigDict(extra="forbid")


class Choice(Strict):
    key: str
    name: str


class CheckItem(Strict):
    key: str
    label: str = Field(min_length=1, max_length=40)
    text: str


class Ratio(Strict):
    apprentices_per_invigilator: int = Field(ge=1)


class Identity(Strict):
    documents: list[Choice]
    last_digits: int = Field(ge=1, le=8)


class Remote(Strict):
    checklist: list[CheckItem]


class Warnings(Strict):
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
