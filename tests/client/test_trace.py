"""The protocol trace: readable (guids in hex) and free of authorization codes."""

from __future__ import annotations

import logging

import pytest

from custom_components.ipoffice.mtcti3 import CommandValidationError, ResultCode, ResultError, TransferType
from custom_components.ipoffice.mtcti3.connection import TRACE_LOGGER_NAME
from simulator import Simulator

from .conftest import ClientFactory, settle, wait_for

MAKE_CALL_CODE = "80917263"  # distinctive, so that a grep for them cannot match anything by chance
SET_CODE = "80917264"


async def test_trace_redacts_authorization_codes(
    make_client: ClientFactory, sim: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    """Authorization codes given to make_call and set_auth_code reach the IP Office unchanged but show as *** in
    the trace (and in no other log line); guids show as the hex the rest of the integration uses."""
    caplog.set_level(logging.DEBUG, logger="custom_components.ipoffice")
    caplog.set_level(logging.DEBUG, logger=TRACE_LOGGER_NAME)
    sim.model.auth_codes += [MAKE_CALL_CODE, SET_CODE]
    client = await make_client()
    bob = client.user_by_extn("2002")
    assert bob is not None
    await client.make_call(bob, "2003", auth_code=MAKE_CALL_CODE, account_code="1000")
    await wait_for(lambda: bool(bob.calls), message="the call")
    (call_id,) = bob.calls
    app = next(a for c in sim.model.calls for a in c.apps if a.owner == bytes.fromhex(bob.guid))
    assert app.authcode == MAKE_CALL_CODE  # the message sent was not redacted
    await client.set_auth_code(bob, call_id, SET_CODE)
    assert app.authcode == SET_CODE
    await client.set_auth_code(bob, call_id, "")  # clearing shows as cleared, not as a secret
    await settle(sim)
    trace = [r.getMessage() for r in caplog.records if r.name == TRACE_LOGGER_NAME]
    assert any('authcode: "***"' in line and 'accountcode: "1000"' in line for line in trace)
    assert any('action: SetAuthCode arg1: "***"' in line for line in trace)
    assert any("action: SetAuthCode" in line and "arg1" not in line for line in trace)
    assert any(f"guid: {bob.guid}" in line for line in trace)
    assert not any("\\" in line for line in trace if "guid" in line)  # no escaped bytes
    assert MAKE_CALL_CODE not in caplog.text
    assert SET_CODE not in caplog.text


async def test_trace_redacts_a_meetme_pin(
    make_client: ClientFactory, sim: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    """A MeetMe conference's PIN in a blind transfer ("/type/destination;MODEFROMPIN(pin)") reaches the IP Office
    but shows as *** in the trace."""
    caplog.set_level(logging.DEBUG, logger=TRACE_LOGGER_NAME)
    client = await make_client()
    bob = client.user_by_extn("2002")
    assert bob is not None
    sim_call = sim.incoming_call(to="2002", caller="01707123456")
    await wait_for(lambda: bool(bob.calls), message="the call")
    sim.answer(sim_call, by="2002")
    await settle(sim)
    (call_id,) = bob.calls
    await client.blind_transfer(bob, call_id, "2005", TransferType.MEETME, MAKE_CALL_CODE)
    await settle(sim)
    assert (sim_call.b.kind, sim_call.b.number) == ("conf", "2005")  # sent unchanged
    trace = [r.getMessage() for r in caplog.records if r.name == TRACE_LOGGER_NAME]
    assert any('arg1: "/116/2005;MODEFROMPIN(***)"' in line for line in trace), trace[-5:]
    assert MAKE_CALL_CODE not in caplog.text


LOGIN_CODE = "80917265"


async def test_hot_desk_login_code_stays_secret(
    make_client: ClientFactory, sim: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    """A hot-desk login with the user's login code logs the user in; a wrong code is refused. The code reaches the IP
    Office but shows as *** in the trace, and a code the client refuses is not in the error either."""
    caplog.set_level(logging.DEBUG, logger="custom_components.ipoffice")
    caplog.set_level(logging.DEBUG, logger=TRACE_LOGGER_NAME)
    sim.model.user("2011").login_code = LOGIN_CODE
    client = await make_client()
    karen = client.user_by_extn("2011")
    assert karen is not None
    assert karen.logged_off
    with pytest.raises(ResultError) as refused:
        await client.login_extension(karen, "2011", password=LOGIN_CODE[::-1])
    assert refused.value.code == ResultCode.MTCTISESS_NOTALLOWED
    with pytest.raises(CommandValidationError) as invalid:
        await client.login_extension(karen, "2011", password=LOGIN_CODE * 4)
    assert invalid.value.field == "password"
    assert LOGIN_CODE not in str(invalid.value)
    assert invalid.value.value is None
    await client.login_extension(karen, "2011", password=LOGIN_CODE)
    await wait_for(lambda: not karen.logged_off, message="the login")
    assert karen.logged_in_extn == "2011"
    trace = [r.getMessage() for r in caplog.records if r.name == TRACE_LOGGER_NAME]
    assert any('loginextn { extn: "2011" password: "***" }' in line for line in trace), trace[-5:]
    assert LOGIN_CODE not in caplog.text
    assert LOGIN_CODE[::-1] not in caplog.text


async def test_trace_shows_ucids_in_hex(
    make_client: ClientFactory, sim: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    """A call's UCID shows in the trace as the hex the call events carry."""
    caplog.set_level(logging.DEBUG, logger=TRACE_LOGGER_NAME)
    client = await make_client()
    bob = client.user_by_extn("2002")
    assert bob is not None
    sim.incoming_call(to="2002", caller="01707123456")
    await wait_for(lambda: bool(bob.calls), message="the call")
    (call,) = bob.calls.values()
    trace = [r.getMessage() for r in caplog.records if r.name == TRACE_LOGGER_NAME]
    assert any(f"ucid {{ ucid: {call.ucid} }}" in line for line in trace), trace[-3:]
