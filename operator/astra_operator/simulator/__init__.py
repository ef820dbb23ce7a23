"""DevOps API v2 simulator: a real HTTP server written from the spec, independent of the client.

Start it in-process with :class:`Simulator` (see ``docs/simulator-admin-api.md``) or as a process
with ``astra-operator simulate``.
"""

from astra_operator.simulator.server import Simulator
from astra_operator.simulator.timing import Timing

__all__ = ["Simulator", "Timing"]
