"""The seeded fault campaign against the integration running in Home Assistant (see campaign.py).

CI runs ``IPOFFICE_CAMPAIGN_FAULTS`` (default 520) faults in shards; a longer run is
``IPOFFICE_CAMPAIGN_FAULTS=5000 scripts/test tests/reliability/test_campaign.py -s`` (or
``tests/reliability/run_campaign.py``). Replay a failure with the ``IPOFFICE_SEED`` it printed.
"""

from __future__ import annotations

import logging
import os
from typing import Any
from unittest.mock import PropertyMock

import pytest
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_PASSWORD, CONF_USERNAME
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity import Entity
from pytest_homeassistant_custom_component.common import MockConfigEntry

import custom_components.ipoffice as integration
from custom_components.ipoffice.const import (
    CONF_QUEUES,
    CONF_USERS,
    DOMAIN,
)
from custom_components.ipoffice.mtcti3 import IPOfficeClient
from simulator import Simulator
from tests.hatools import entry_data

from .campaign import Campaign
from .conftest import PASSWORD, USERNAME, guid_of

SYSTEM_ID = "ipoffice-reliability"
TOTAL_FAULTS = int(os.environ.get("IPOFFICE_CAMPAIGN_FAULTS", "520"))
SHARDS = 4
HEARTBEAT = 0.5
# Users whose phones an incoming call reaches in the default scenario (not 2004, on do not disturb, nor 2005, which
# forwards every call to a mobile): the traffic turns do not disturb on and off itself. 2006 is a Support agent.
EXPOSED_USERS = ("2001", "2002", "2003", "2006", "2007")
EXPOSED_QUEUES = ("2501", "2502")


class FastClient(IPOfficeClient):
    """The integration's client with the timings of a test: a short keepalive, quick backoff and reconciliation."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.update(heartbeat=HEARTBEAT, request_timeout=2.0)
        super().__init__(*args, **kwargs)
        self.reconcile_delay = 0.1
        self.backoff_base = 0.01
        self.backoff_cap = 0.1
        self.auth_retry_delay = 0.1
        self.connect_timeout = 3.0


@pytest.fixture
def expected_lingering_timers() -> bool:
    """aiohttp leaves a closed websocket's heartbeat timer scheduled (it fires once and stops): not a leak."""
    return True


async def start_integration(
    hass: HomeAssistant, sim: Simulator, monkeypatch: pytest.MonkeyPatch
) -> tuple[MockConfigEntry, Any]:
    """Set up an entry (five users, two queues exposed) on the fast client, with every entity enabled.

    The campaign checks entities that are disabled by default (a user's active calls and voicemail) too.
    """
    users = [sim.model.user(extn) for extn in EXPOSED_USERS]
    unreachable = [user.extn for user in users if user.dnd or user.fwdu or user.loggedoff or user.extnfault]
    assert unreachable == []  # an incoming call reaches each user's phone
    monkeypatch.setattr(integration, "IPOfficeClient", FastClient)
    monkeypatch.setattr(Entity, "entity_registry_enabled_default", PropertyMock(return_value=True))
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="IP Office reliability",
        unique_id=SYSTEM_ID,
        data=entry_data(sim, **{CONF_USERNAME: USERNAME, CONF_PASSWORD: PASSWORD}),
        options={
            CONF_USERS: [guid_of(sim, extn) for extn in EXPOSED_USERS],
            CONF_QUEUES: [guid_of(sim, extn) for extn in EXPOSED_QUEUES],
        },
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    return entry, entry.runtime_data


def _shard_sizes() -> list[int]:
    base, extra = divmod(TOTAL_FAULTS, SHARDS)
    return [base + (1 if index < extra else 0) for index in range(SHARDS)]


@pytest.mark.timeout(max(90, TOTAL_FAULTS // 2))
@pytest.mark.parametrize("shard", range(SHARDS))
async def test_fault_campaign(
    hass: HomeAssistant,
    office: Simulator,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    seed: int,
    shard: int,
) -> None:
    """Faults of every kind at random moments; after each recovery the integration tells the IP Office's truth."""
    caplog.set_level(logging.WARNING)
    # The integration's records go to a handler that keeps only errors: pytest's report handler keeps every record,
    # and with it the exceptions (and their frames) passed as arguments, which would blur the memory figure.
    errors = _ErrorHandler()
    ours = logging.getLogger("custom_components.ipoffice")
    monkeypatch.setattr(ours, "propagate", False)
    ours.addHandler(errors)
    monkeypatch.setattr(ours, "handlers", [errors])
    _, coordinator = await start_integration(hass, office, monkeypatch)
    campaign = Campaign(
        hass,
        office,
        coordinator,
        seed=seed + shard,
        system_id=SYSTEM_ID,
        error_records=lambda: [*_records(caplog), *errors.records],
        clear_records=caplog.clear,
    )
    try:
        report = await campaign.run(_shard_sizes()[shard], warmup=5, measure_memory=shard == 0)
    finally:
        campaign.close()
    print(report.summary())
    assert sum(report.faults.values()) == _shard_sizes()[shard] + 5
    assert report.calls_reported > 0
    assert report.calls_ended > 0
    assert report.reconnects > 0
    if report.memory_growth is not None:
        # The integration's own allocations after the warm-up: bounded, not growing with the number of faults.
        assert report.memory_growth < 256 * 1024, report.summary()
        assert report.connections_alive <= 2, report.summary()  # the current one (and one being replaced)


class _ErrorHandler(logging.Handler):
    """Keeps the records at ERROR and above; formats and forgets the rest."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.format(record)
        if record.levelno >= logging.ERROR:
            self.records.append(record)


def _records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [*caplog.get_records("setup"), *caplog.get_records("call")]
