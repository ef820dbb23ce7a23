"""PCU groups (provisioned capacity units, spec v2.3.0): records, timelines, associations."""

from __future__ import annotations

import collections
import dataclasses
from collections.abc import Sequence
from typing import Any

from astra_operator.simulator import model

# What an association with a datacenter says while its group is not ACTIVE, and once it is.
ASSOCIATION_CREATED = "Created"
ASSOCIATION_ACCEPTED = "Accepted"


@dataclasses.dataclass(slots=True)
class Association:
    """A datacenter placed in a PCU group."""

    datacenter_id: str
    created_at: str
    created_by: str
    updated_at: str
    updated_by: str


@dataclasses.dataclass(slots=True)
class PcuGroup:
    """One PCU group; call :meth:`settle` before reading ``status``."""

    uuid: str
    org_id: str
    title: str
    provider: str
    region: str
    instance_type: str
    provision_type: str
    min: int
    max: int
    reserved: int
    description: str
    created_at: str
    created_by: str
    updated_at: str
    updated_by: str
    status: str = "CREATED"
    associations: dict[str, Association] = dataclasses.field(default_factory=dict)
    plan: collections.deque[model.Step] = dataclasses.field(default_factory=collections.deque)

    def settle(self, now: float) -> None:
        """Apply every step whose time has come, in order."""
        while self.plan and self.plan[0].at <= now:
            step = self.plan.popleft()
            self.status = step.status
            if step.effect is not None:
                step.effect(step.at)

    def schedule(self, now: float, stages: Sequence[model.Stage]) -> None:
        """Replace the timeline: enter ``stages[0]`` now, each following when the previous ends."""
        self.plan.clear()
        at = now
        for status, seconds, effect in stages:
            self.plan.append(model.Step(at, status, effect))
            at += seconds
        self.settle(now)

    def as_json(self) -> dict[str, Any]:
        """A ``PCUGroup`` as the spec names its fields."""
        return {
            "uuid": self.uuid,
            "orgId": self.org_id,
            "title": self.title,
            "cloudProvider": self.provider,
            "region": self.region,
            "instanceType": self.instance_type,
            "provisionType": self.provision_type,
            "min": self.min,
            "max": self.max,
            "reserved": self.reserved,
            "description": self.description,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
            "createdBy": self.created_by,
            "updatedBy": self.updated_by,
            "status": self.status,
        }

    def association_json(self, association: Association) -> dict[str, Any]:
        """A ``PCUAssociation``."""
        accepted = self.status == "ACTIVE"
        return {
            "datacenterUUID": association.datacenter_id,
            "pcuGroupUUID": self.uuid,
            "provisioningStatus": ASSOCIATION_ACCEPTED if accepted else ASSOCIATION_CREATED,
            "createdAt": association.created_at,
            "updatedAt": association.updated_at,
            "createdBy": association.created_by,
            "updatedBy": association.updated_by,
        }
