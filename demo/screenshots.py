"""Take the README's screenshots (docs/screenshots/*.png) in a real browser; rerun after UI changes.

``.venv/bin/python -m demo.screenshots`` starts the simulator (the bundled office, no random traffic) and Home
Assistant on a free port, adds the integration in the web UI as a user does (the certificate step is one
screenshot), plays a few calls in the simulator so that the dashboard shows phones ringing and on calls and a
queue with a waiting call, then saves the dashboard. Needs ``IPOFFICE_DEMO=1 scripts/setup`` and Debian's chromium.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from playwright.async_api import Page, expect

from demo.browser import CHROMIUM, add_integration, chromium, log_in
from demo.run import DEMO_DIR, ROOT, DemoStack, free_port, say

SCREENSHOTS = ROOT / "docs" / "screenshots"
KEEP = {"config-flow-certificate"}  # of the config flow's steps


async def play_calls(stack: DemoStack) -> None:
    """A moment of a working day: calls connected, ringing, missed, and waiting in a queue."""
    internal = (await stack.sim("internal_call", **{"from": "2001", "to": "2003"}))["call"]
    await stack.sim("answer", call=internal)
    sales = (await stack.sim("incoming_call", to="2501", caller="01707123456", caller_name="Avaya Test"))["call"]
    await stack.sim("answer", call=sales, by="2002")
    missed = (await stack.sim("incoming_call", to="2007", caller="07700900321", caller_name="Mobile"))["call"]
    await asyncio.sleep(1)
    await stack.sim("hangup", call=missed, by="caller")
    await stack.sim("incoming_call", to="2006", caller="02079460000", caller_name="London Office")
    await stack.sim("incoming_call", to="2502", caller="01134960000", caller_name="Leeds Customer")


async def take(out: Path, width: int) -> None:
    """Start the stack, drive the UI, save the screenshots, stop."""
    async with DemoStack(demo_dir=DEMO_DIR / "screenshots", ha_port=free_port(), traffic=False) as stack:
        await stack.start(with_integration=False)
        async with chromium(CHROMIUM, width=width, height=900) as context:
            page: Page = context.pages[0] if context.pages else await context.new_page()
            page.set_default_timeout(20_000)

            async def shot(name: str) -> None:
                if name in KEEP:
                    await page.screenshot(path=out / f"{name}.png")
                    say(f"screenshots: {out / name}.png")

            await log_in(page, stack)
            await add_integration(page, stack, shot=shot)
            await stack.wait_for_entry()
            await stack.wait_for_entities()
            await stack.install_dashboard()
            await play_calls(stack)
            await page.goto(stack.dashboard_url)
            await expect(page.locator("hui-tile-card", has_text="Alice Smith")).to_contain_text("On a call")
            await expect(page.locator("hui-tile-card", has_text="Frank Miller")).to_contain_text("Ringing")
            await expect(page.locator("hui-logbook-card")).to_contain_text("Grace Wilson")
            await page.wait_for_timeout(1500)  # markdown cards render in a worker
            await page.screenshot(path=out / "dashboard.png", full_page=True)
            say(f"screenshots: {out / 'dashboard.png'}")


def main() -> None:
    """Command line."""
    parser = argparse.ArgumentParser(prog="python -m demo.screenshots", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=SCREENSHOTS, help="folder (default docs/screenshots)")
    parser.add_argument("--width", type=int, default=1280, help="browser width in pixels")
    args = parser.parse_args()
    expect.set_options(timeout=20_000)
    args.out.mkdir(parents=True, exist_ok=True)
    asyncio.run(take(args.out.resolve(), args.width))
    sys.exit(0)


if __name__ == "__main__":
    main()
