"""An IP Office MTCTI-3 simulator (HTTPS websocket ``/tpkt/openapi``) for tests, benchmarks and demos.

See docs/simulator-contract.md for the control API and ``python -m simulator --help`` for the command line and the
admin HTTP interface.
"""

from __future__ import annotations

from .model import Call, CallError, SystemModel
from .scenario import Queue, QueueMember, Scenario, User, generate_scenario, load_scenario
from .server import Simulator, SimulatorConfig

SimCall = Call

__all__ = [
    "Call",
    "CallError",
    "Queue",
    "QueueMember",
    "Scenario",
    "SimCall",
    "Simulator",
    "SimulatorConfig",
    "SystemModel",
    "User",
    "generate_scenario",
    "load_scenario",
]
