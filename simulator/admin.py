"""The admin HTTP JSON interface (plain HTTP, bound to 127.0.0.1 only).

Endpoints (JSON bodies; every answer is JSON, errors are ``{"error": ...}`` with status 400/404):

- ``GET  /state``                            users, queues, calls, connections
- ``POST /calls/incoming``   {to, caller?, caller_name?, did?, withheld?}  -> {gcid, callids}
- ``POST /calls/internal``   {from, to}                            -> {gcid, callids}
- ``POST /calls/outgoing``   {from, to}   (to an emergency number: an emergency call) -> {gcid, callids}
- ``POST /calls/{gcid}/answer``    {by?}
- ``POST /calls/{gcid}/hold``      {by}      ``/unhold`` {by}
- ``POST /calls/{gcid}/hangup``    {by?: "caller" | extension}
- ``POST /calls/{gcid}/voicemail``
- ``POST /calls/{gcid}/transfer``  {by, to}
- ``POST /calls/{gcid}/park``      {by, slot}
- ``POST /users``            {extn, name}                          -> {guid}
- ``PATCH /users/{extn}``    any NotifyUser field, e.g. {dnd: true} or {name, new_extn}
- ``DELETE /users/{extn}``
- ``POST /users/{extn}/mailbox``   {new, old, saved}
- ``POST /users/{extn}/phone``     {logged_in?, extnfault?}
- ``PATCH /queues/{extn}``   {servicemode?, voicemail?, members?, ...}
- ``POST /faults/{name}``    drop_all | stall {seconds} | send_malformed {kind} | send_raw {hex} |
                             terminate_subscriptions {kind?} | fail_next {code, payload?} |
                             unknown_field {message?, number?, value?} |
                             refuse_auth {on} | refuse_service {on} | no_responses {on} | reset
- ``POST /traffic/start``    {seed?, rate?}      ``POST /traffic/stop``
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from .model import Call
    from .server import Simulator

HOST = "127.0.0.1"


def _call_json(call: Call) -> dict[str, Any]:
    return {"gcid": call.gcid, "callids": call.callids, "ended": call.ended}


class AdminServer:
    """The admin interface of one simulator."""

    def __init__(self, sim: Simulator, port: int) -> None:
        self.sim = sim
        self._requested_port = port
        self.port = 0
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application(middlewares=[self._errors])
        r = app.router
        r.add_get("/state", self._state)
        r.add_post("/calls/{kind}", self._new_call)
        r.add_post("/calls/{gcid}/{action}", self._call_action)
        r.add_post("/users", self._add_user)
        r.add_patch("/users/{extn}", self._patch_user)
        r.add_delete("/users/{extn}", self._delete_user)
        r.add_post("/users/{extn}/{what}", self._user_action)
        r.add_patch("/queues/{extn}", self._patch_queue)
        r.add_post("/faults/{name}", self._fault)
        r.add_post("/traffic/{action}", self._traffic)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, HOST, self._requested_port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @web.middleware
    async def _errors(self, request: web.Request, handler: Any) -> web.StreamResponse:
        try:
            response: web.StreamResponse = await handler(request)
        except KeyError as err:
            return web.json_response({"error": f"not found: {err}"}, status=404)
        except (ValueError, TypeError, AttributeError) as err:
            return web.json_response({"error": str(err)}, status=400)
        return response

    @staticmethod
    async def _body(request: web.Request) -> dict[str, Any]:
        if not request.can_read_body:
            return {}
        data = json.loads(await request.text() or "{}")
        if not isinstance(data, dict):
            raise TypeError("body must be a JSON object")
        return data

    async def _state(self, request: web.Request) -> web.Response:
        model = self.sim.model
        return web.json_response(
            {
                "system": model.name,
                "release": self.sim.release,
                "connections": self.sim.connection_count,
                "users": [
                    {
                        "extn": u.extn,
                        "name": u.name,
                        "guid": u.guid.hex().upper(),
                        "dnd": u.dnd,
                        "loggedoff": u.loggedoff,
                        "phonestate": model.phonestate(u),
                    }
                    for u in model.users.values()
                ],
                "queues": [
                    {
                        "extn": q.extn,
                        "name": q.name,
                        "guid": q.guid.hex().upper(),
                        "servicemode": q.servicemode,
                        "members": [[m.extn, m.disabled] for m in q.members],
                    }
                    for q in model.queues.values()
                ],
                "calls": [{**_call_json(c), "states": {k: c.state(k) for k in c.callids}} for c in model.active_calls],
            }
        )

    async def _new_call(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        kind = request.match_info["kind"]
        if kind == "incoming":
            call = self.sim.incoming_call(
                str(body["to"]),
                str(body.get("caller", "01707123456")),
                str(body.get("caller_name", "")),
                body.get("did"),
                withheld=bool(body.get("withheld", False)),
            )
        elif kind == "internal":
            call = self.sim.internal_call(str(body["from"]), str(body["to"]))
        elif kind == "outgoing":
            call = self.sim.outgoing_call(str(body["from"]), str(body["to"]))
        else:
            raise KeyError(kind)
        return web.json_response(_call_json(call))

    async def _call_action(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        call = self.sim.model.find_call(request.match_info["gcid"])
        action = request.match_info["action"]
        if action == "answer":
            self.sim.answer(call, body.get("by"))
        elif action == "hold":
            self.sim.hold(call, str(body["by"]))
        elif action == "unhold":
            self.sim.unhold(call, str(body["by"]))
        elif action == "hangup":
            self.sim.hangup(call, str(body.get("by", "caller")))
        elif action == "voicemail":
            self.sim.to_voicemail(call)
        elif action == "transfer":
            self.sim.transfer(call, str(body["by"]), str(body["to"]))
        elif action == "park":
            self.sim.park(call, str(body["by"]), str(body["slot"]))
        else:
            raise KeyError(action)
        return web.json_response(_call_json(call))

    async def _add_user(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        return web.json_response({"guid": self.sim.add_user(str(body["extn"]), str(body["name"]))})

    async def _patch_user(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        extn = request.match_info["extn"]
        if "name" in body or "new_extn" in body:
            self.sim.change_user(extn, name=body.pop("name", None), extn=body.pop("new_extn", None))
            extn = self.sim.model.user(extn).extn if self.sim.model.find_user(extn) else extn
        if body:
            self.sim.update_user(extn, **body)
        return web.json_response({"ok": True})

    async def _delete_user(self, request: web.Request) -> web.Response:
        self.sim.remove_user(request.match_info["extn"])
        return web.json_response({"ok": True})

    async def _user_action(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        extn, what = request.match_info["extn"], request.match_info["what"]
        if what == "mailbox":
            self.sim.set_mailbox(extn, int(body.get("new", 0)), int(body.get("old", 0)), int(body.get("saved", 0)))
        elif what == "phone":
            self.sim.set_phone_state(extn, logged_in=body.get("logged_in"), extnfault=body.get("extnfault"))
        else:
            raise KeyError(what)
        return web.json_response({"ok": True})

    async def _patch_queue(self, request: web.Request) -> web.Response:
        self.sim.update_queue(request.match_info["extn"], **await self._body(request))
        return web.json_response({"ok": True})

    async def _fault(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        faults = self.sim.faults
        name = request.match_info["name"]
        if name == "drop_all":
            faults.drop_all()
        elif name == "stall":
            faults.stall(float(body.get("seconds", 5)))
        elif name == "send_malformed":
            faults.send_malformed(str(body["kind"]))
        elif name == "send_raw":
            faults.send_raw(bytes.fromhex(str(body["hex"])))
        elif name == "terminate_subscriptions":
            faults.terminate_subscriptions(body.get("kind"))
        elif name == "fail_next":
            faults.fail_next(int(body["code"]), body.get("payload"))
        elif name == "unknown_field":
            faults.add_unknown_field(
                str(body.get("message", "CallInfo")), int(body.get("number", 90)), int(body.get("value", 1))
            )
        elif name in ("refuse_auth", "refuse_service", "no_responses"):
            setattr(faults, name, bool(body.get("on", True)))
        elif name == "reset":
            faults.reset()
        else:
            raise KeyError(name)
        return web.json_response({"ok": True})

    async def _traffic(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        if request.match_info["action"] == "start":
            self.sim.start_traffic(seed=int(body.get("seed", 1)), rate=float(body.get("rate", 0.5)))
        elif request.match_info["action"] == "stop":
            await self.sim.stop_traffic()
        else:
            raise KeyError(request.match_info["action"])
        return web.json_response({"ok": True})
