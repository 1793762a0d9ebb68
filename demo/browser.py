"""Driving Home Assistant's web UI in Debian's headless Chromium with Playwright (no downloaded browser).

Shared by the real-browser test (tests/browser) and the screenshots for the README (demo/screenshots.py).
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from playwright.async_api import BrowserContext, Page, async_playwright, expect

from demo.run import DemoStack

CHROMIUM = "/usr/bin/chromium"
# As this machine's notes ask: no sandbox as root, and no background traffic to the (closed) internet.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

Shot = Callable[[str], Awaitable[None]]


async def _no_shot(_: str) -> None:
    return None


@asynccontextmanager
async def chromium(
    executable: str = CHROMIUM, width: int = 1280, height: int = 900, scale: float = 1
) -> AsyncIterator[BrowserContext]:
    """A fresh headless Chromium with its own empty profile, closed afterwards."""
    with tempfile.TemporaryDirectory(prefix="ipoffice-chromium-") as profile:
        async with async_playwright() as playwright:
            context = await playwright.chromium.launch_persistent_context(
                profile,
                executable_path=executable,
                args=CHROMIUM_ARGS,
                headless=True,
                viewport={"width": width, "height": height},
                device_scale_factor=scale,
            )
            try:
                yield context
            finally:
                await context.close()


async def log_in(page: Page, stack: DemoStack) -> None:
    """Log in on Home Assistant's login page as the onboarded owner."""
    await page.goto(f"{stack.url}/")
    await page.get_by_role("textbox", name="Username").fill(stack.username)
    await page.get_by_role("textbox", name="Password").fill(stack.password)
    await page.get_by_role("button", name="Log in").click()
    # Wait for the app itself (it stores the tokens once loaded), not only for the redirect back.
    await page.wait_for_url(lambda url: "/auth/" not in url and "auth_callback" not in url)
    await expect(page.locator("ha-sidebar")).to_be_visible()


CHOOSE_ATTEMPTS = 3


async def choose(page: Page, field: str, options: list[str]) -> None:
    """Pick options (by the extension their label starts with) in a multiple select of a config flow form.

    A user whose click did not take clicks again; so does this. Under load (CI runs the whole suite beside the
    browser) a click can reach the picker while it is still opening and close it without a pick (seen once in CI):
    then the picker is opened again, or used again if it stayed open, up to ``CHOOSE_ATTEMPTS`` times.
    """
    search = page.get_by_placeholder("Search", exact=True)
    for option in options:
        chip = page.locator("ha-input-chip", has_text=re.compile(rf"^\s*{option} "))
        for attempt in range(1, CHOOSE_ATTEMPTS + 1):
            if not await search.is_visible():
                await page.get_by_role("button", name=field).click()
            await search.fill(option)
            item = page.get_by_text(re.compile(rf"^{option} ")).first
            await expect(item).to_be_visible()
            await item.click()
            try:
                await expect(chip).to_be_visible(timeout=5_000 if attempt < CHOOSE_ATTEMPTS else 20_000)
            except AssertionError:
                if attempt == CHOOSE_ATTEMPTS:
                    raise
            else:
                break


async def add_integration(
    page: Page, stack: DemoStack, users: list[str] | None = None, queues: list[str] | None = None, shot: Shot = _no_shot
) -> None:
    """Settings > Devices & services > Add integration > Avaya IP Office, as a user does it.

    Enters the address and service user, checks the fingerprint the flow shows against the simulator's and trusts
    it, and on a large system chooses ``users`` and ``queues`` (extensions).
    """
    assert stack.sim_info is not None
    await page.goto(f"{stack.url}/config/integrations/dashboard")
    await page.get_by_role("button", name="Add integration").click()
    await page.get_by_placeholder("Search for a brand name").fill("IP Office")
    await page.get_by_text("Avaya IP Office", exact=True).click()

    await page.get_by_role("textbox", name="Host").fill("127.0.0.1")
    await page.get_by_role("spinbutton", name="Port").fill(str(stack.sim_info.port))
    await page.get_by_role("textbox", name="Service user name").fill(stack.sim_username)
    await page.get_by_role("textbox", name="Service user password").fill(stack.sim_password)
    await shot("config-flow-connect")
    await page.get_by_role("button", name="Next").click()

    # The certificate is self-signed: the flow shows its fingerprint, which the user compares, then trusts.
    await expect(page.get_by_text(stack.sim_info.fingerprint)).to_be_visible()
    await shot("config-flow-certificate")
    await page.get_by_text("Trust this certificate").click()

    if users is not None or queues is not None:
        await expect(page.get_by_text("Choose users and queues")).to_be_visible()
        await choose(page, "Users", users or [])
        await choose(page, "Queues", queues or [])
        await shot("config-flow-choose")
        await page.get_by_role("button", name="Submit").click()
    await expect(page.get_by_role("button", name="Finish")).to_be_visible()
    await shot("config-flow-done")
    await page.get_by_role("button", name="Finish").click()
