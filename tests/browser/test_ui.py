"""End to end in a real browser: add the integration in Home Assistant's web UI, then watch a call on the dashboard.

Home Assistant and the simulator run as processes (see conftest.py); Playwright drives Debian's headless Chromium
through the login page, Settings > Devices & services > Add integration, the config flow (address and service user,
trusting the certificate after comparing its fingerprint, choosing users and a queue), and the demo dashboard, where
calls started in the simulator must change the chosen user's phone state.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from .conftest import ARTIFACTS, CHROMIUM, require

require(browser=True, whole_module=True)  # before Playwright is imported: a machine without it skips, with the reason

from playwright.async_api import Page, expect  # noqa: E402

from demo.browser import add_integration, chromium, log_in  # noqa: E402
from demo.run import DemoStack  # noqa: E402

USERS = ["10001", "10002", "10003"]  # of the generated system: extensions from 10000, queues from 80000
QUEUE = "80000"
expect.set_options(timeout=20_000)


@pytest_asyncio.fixture
async def page(stack: DemoStack) -> AsyncIterator[Page]:
    """A page of a fresh headless Chromium; its last screenshot is kept in .demo/browser-test/ (for failures)."""
    async with chromium(CHROMIUM) as context:
        page = context.pages[0] if context.pages else await context.new_page()
        page.set_default_timeout(20_000)
        try:
            yield page
        finally:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            if not page.is_closed():
                await page.screenshot(path=ARTIFACTS / "last.png")


@pytest.mark.timeout(300)
async def test_add_integration_and_see_a_call(stack: DemoStack, page: Page) -> None:
    """A user adds the IP Office in the web UI; calls to one of the chosen users show on the dashboard."""
    began = time.monotonic()

    async def shot(name: str) -> None:
        await page.screenshot(path=ARTIFACTS / f"{name}.png")

    await log_in(page, stack)
    await add_integration(page, stack, users=USERS, queues=[QUEUE], shot=shot)

    # The entry is loaded and exposes exactly the chosen users and queue.
    await stack.wait_for_entry()
    await stack.wait_for_entities()
    entities, devices = await stack.registry()
    phones = {
        devices[e["device_id"]]["serial_number"]: e["entity_id"]
        for e in entities
        if e["translation_key"] == "phone_state"
    }
    assert sorted(phones) == USERS
    queues = [devices[e["device_id"]]["serial_number"] for e in entities if e["translation_key"] == "calls_waiting"]
    assert queues == [QUEUE]

    # The dashboard shows the chosen users' phone states; calls in the simulator change one of them.
    await stack.install_dashboard()
    await page.goto(stack.dashboard_url)
    name = next(devices[e["device_id"]]["name"] for e in entities if e["entity_id"] == phones[USERS[0]])
    tile = page.locator("hui-tile-card", has_text=name)
    await expect(tile).to_contain_text("Idle")
    call = (await stack.sim("incoming_call", to=USERS[0], caller="01707123456", caller_name="Avaya Test"))["call"]
    await expect(tile).to_contain_text("Ringing")
    await shot("dashboard-ringing")
    await stack.sim("answer", call=call)
    await expect(tile).to_contain_text("On a call")
    await stack.sim("hangup", call=call, by="caller")
    await expect(tile).to_contain_text("Idle")
    # The call is listed under recent calls (the logbook card) too.
    await expect(page.locator("hui-logbook-card")).to_contain_text(name)
    assert time.monotonic() - began < 150, "the browser test should stay well under 3 minutes"
