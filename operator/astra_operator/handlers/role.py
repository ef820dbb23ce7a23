"""AstraRole's kopf wiring: one registration on the shared engine."""

from __future__ import annotations

from astra_operator.handlers import kinds
from astra_operator.reconcilers import role
from astra_operator.resources import role as rl

kinds.register(role.KIND, role.parse, rl.AstraRoleStatus)
