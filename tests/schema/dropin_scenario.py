"""Run by test_dropin.py in a copy of the project whose code is generated from another schema: the simulator and
the client on that schema, over real sockets. Prints what a user would see, as one JSON object."""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import Callable

from custom_components.ipoffice.mtcti3 import IPOfficeClient
from custom_components.ipoffice.mtcti3.proto import ipo_mtcti3_pb2 as pb
from simulator import Simulator, SimulatorConfig


async def until(predicate: Callable[[], object]) -> None:
    """Poll ``predicate`` for up to 10 s (the client's listeners are not what is tested here)."""
    async with asyncio.timeout(10):
        while not predicate():  # noqa: ASYNC110 - a poll of plain state
            await asyncio.sleep(0.01)


async def main() -> dict[str, object]:
    sim = Simulator(SimulatorConfig(username="ha", password="pw"))
    await sim.start()
    client = IPOfficeClient(
        "127.0.0.1", "ha", "pw", port=sim.port, ssl_context=ssl.create_default_context(cadata=sim.certificate_pem)
    )
    try:
        await client.connect()
        bob = client.user_by_extn("2002")
        assert bob is not None
        call = sim.incoming_call("2002", "01707123456", "Jane Caller")
        await until(lambda: bob.calls)
        ringing = next(iter(bob.calls.values()))
        party = ringing.calling_party
        sim.answer(call, by="2002")
        await until(lambda: all(c.answered for c in bob.calls.values()))
        await client.drop_call(bob, ringing.call_id)
        await until(lambda: not bob.calls)
        dnd_before = bob.dnd
        await client.set_dnd(bob, True)
        await until(lambda: bob.dnd)
        return {
            "package": pb.DESCRIPTOR.package,
            "has_getversioninfo": "getversioninfo" in pb.GeneralCmd.DESCRIPTOR.fields_by_name,
            "users": sorted(user.extn for user in client.users.values()),
            "queues": sorted(queue.name for queue in client.queues.values()),
            "version": client.system.version,
            "caller": [party.number, party.name] if party else None,
            "dnd": [dnd_before, bob.dnd, sim.model.user("2002").dnd],
            "dropped": call not in sim.active_calls,
        }
    finally:
        await client.disconnect()
        await sim.stop()


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main())))
