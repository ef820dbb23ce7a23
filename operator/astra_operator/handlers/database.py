"""AstraDatabase's kopf wiring: one registration on the shared engine."""

from __future__ import annotations

from astra_operator.handlers import kinds
from astra_operator.reconcilers import database
from astra_operator.resources import database as db

kinds.register(database.KIND, database.parse, db.AstraDatabaseStatus)
