"""AstraToken's kopf wiring: one registration on the shared engine."""

from __future__ import annotations

from astra_operator.handlers import kinds
from astra_operator.reconcilers import token
from astra_operator.resources import token as tk

kinds.register(token.KIND, token.parse, tk.AstraTokenStatus)
