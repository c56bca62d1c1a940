"""The link page in headless Chromium (Debian's ``chromium``, driven by Playwright) at phone width, scripts off.

Skips, saying why, when chromium or the playwright package is missing (``apt-get install chromium`` as root,
``pip install -e .[dev]``). Never run ``playwright install``: the system's chromium is used.
"""

from __future__ import annotations

import shutil
import struct
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from probes.worker import RunningWorker
from tests.probes._links import StartWorker, free_port, listener, start_worker
from tests.probes.test_worker_links import create_link, dual_worker

__all__ = ["dual_worker", "listener", "start_worker"]  # fixtures

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = {"width": 390, "height": 844}

# Each text element's colour and the first non-transparent background behind it.
_COLOURS = """
() => [...document.querySelectorAll('h1,h2,h3,p,li,label,button,small,strong,a,input,pre,code')]
  .filter(e => e.offsetParent !== null)
  .map(e => {
    let bg = 'rgba(0, 0, 0, 0)', n = e;
    while (n && (bg === 'rgba(0, 0, 0, 0)' || bg === 'transparent')) {
      bg = getComputedStyle(n).backgroundColor; n = n.parentElement;
    }
    return [e.tagName, getComputedStyle(e).color, bg];
  })
"""


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    """Chromium from Debian, headless, through Playwright."""
    if shutil.which(CHROMIUM) is None:
        pytest.skip(
            "chromium is not installed (as root: apt-get install -y chromium; scripts/install-system-deps.sh)"
        )
    playwright_api = pytest.importorskip(
        "playwright.async_api", reason="the playwright package is not installed (pip install -e .[dev])"
    )
    async with playwright_api.async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


def _rgb(text: str) -> tuple[float, float, float]:
    parts = text[text.index("(") + 1 : text.index(")")].split(",")
    return float(parts[0]), float(parts[1]), float(parts[2])


def contrast(foreground: str, background: str) -> float:
    """The WCAG 2 contrast ratio of two CSS rgb() colours."""

    def luminance(colour: tuple[float, float, float]) -> float:
        def channel(c: float) -> float:
            c /= 255
            return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

        r, g, b = (channel(c) for c in colour)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    light, dark = sorted((luminance(_rgb(foreground)), luminance(_rgb(background))), reverse=True)
    return (light + 0.05) / (dark + 0.05)


async def open_page(browser: Any, url: str) -> Any:
    context = await browser.new_context(viewport=PHONE, java_script_enabled=False)
    page = await context.new_page()
    response = await page.goto(url)
    assert response is not None
    return page, response


async def test_the_result_page_fits_a_phone_and_is_accessible(
    browser: Any, start_worker: StartWorker, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    """At 390 px, scripts off: no sideways scroll, the verdict visible, labelled inputs, lang, contrast ≥ 4.5."""
    worker = await start_worker()
    port = free_port()
    link = await create_link(http, worker, ports=[port])
    page, response = await open_page(browser, link["url"])
    assert response.status == 200
    shot = await page.screenshot(path=str(tmp_path / "link-page.png"), full_page=True)
    # The screenshot itself is phone-wide: a PNG's IHDR holds its width and height (bytes 16-24).
    assert shot[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", shot[16:24])
    assert (width, height >= PHONE["height"]) == (PHONE["width"], True)
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert await page.get_by_text(f"Closed: 127.0.0.1:{port} refused the connection.").is_visible()
    assert await page.evaluate("document.documentElement.lang") == "en"
    unlabelled = await page.evaluate(
        "[...document.querySelectorAll('input:not([type=hidden]),select,textarea')]"
        ".filter(e => e.labels.length === 0).map(e => e.name)"
    )
    assert unlabelled == []
    assert await page.get_by_label("Your router's WAN address").is_visible()
    low = [(tag, fg, bg) for tag, fg, bg in await page.evaluate(_COLOURS) if contrast(fg, bg) < 4.5]
    assert low == []


async def test_the_listen_section_is_visible_and_fits_a_phone(
    browser: Any, start_worker: StartWorker, http: httpx.AsyncClient
) -> None:
    """With nothing listening, the listen.py link and the exact command show at 390 px, wrapped, not clipped."""
    worker = await start_worker()
    port = free_port()
    link = await create_link(http, worker, ports=[port])
    page, _ = await open_page(browser, link["url"])
    assert await page.get_by_role("heading", name="No server running yet?").is_visible()
    assert await page.get_by_role("link", name="Download listen.py").is_visible()
    command = page.get_by_text(f"python listen.py {port} --link {link['url']}", exact=True)
    assert await command.is_visible()
    assert await page.get_by_text(
        f"pipx run portbot listen {port} --link {link['url']}", exact=True
    ).is_visible()
    for box in [await command.bounding_box(), await page.locator("pre").last.bounding_box()]:
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    clipped = await page.evaluate(
        "[...document.querySelectorAll('pre')].filter(e => e.scrollWidth > e.clientWidth).length"
    )
    assert clipped == 0
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


async def test_the_other_familys_link_opens_its_check(
    browser: Any, dual_worker: RunningWorker, http: httpx.AsyncClient, listener: int
) -> None:
    """On the IPv4 page, following "Check IPv6: open this link" (scripts off) checks ::1 on its own page."""
    link = await create_link(http, dual_worker, ports=[listener])
    page, _ = await open_page(browser, link["url_v4"])
    offer = page.get_by_role("link", name="Check IPv6: open this link")
    assert await offer.is_visible()
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    async with page.expect_navigation():
        await offer.click()
    assert page.url == link["url_v6"]
    assert await page.get_by_text(f"Closed: [::1]:{listener} refused the connection.").is_visible()


async def test_keyboard_focus_is_visible(
    browser: Any, start_worker: StartWorker, http: httpx.AsyncClient
) -> None:
    """Tabbing to the WAN field and the button shows a focus outline at least 2 px wide."""
    worker = await start_worker()
    link = await create_link(http, worker, ports=[free_port()])
    page, _ = await open_page(browser, link["url"])
    widths = []
    for selector in ("#wan", "button"):
        await page.focus(selector)
        await page.keyboard.press("Shift+Tab")
        await page.keyboard.press("Tab")
        style = await page.eval_on_selector(
            selector, "e => [getComputedStyle(e).outlineStyle, getComputedStyle(e).outlineWidth]"
        )
        widths.append(style)
    assert all(kind != "none" and float(width.removesuffix("px")) >= 2 for kind, width in widths), widths


async def test_the_form_works_without_javascript(
    browser: Any, start_worker: StartWorker, http: httpx.AsyncClient
) -> None:
    """Typing the WAN address and pressing Compare posts the form and shows it back, scripts off."""
    worker = await start_worker()
    link = await create_link(http, worker, ports=[free_port()])
    page, _ = await open_page(browser, link["url"])
    await page.get_by_label("Your router's WAN address").fill("100.72.14.3")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Compare").click()
    assert await page.get_by_text("Your router's WAN address, as you typed it: 100.72.14.3").is_visible()
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


async def test_a_used_link_page_fits_a_phone(
    browser: Any, start_worker: StartWorker, http: httpx.AsyncClient, listener: int
) -> None:
    """The second visit's 410 page says so plainly and fits 390 px."""
    worker = await start_worker()
    link = await create_link(http, worker, ports=[listener])
    await http.get(link["url"])
    page, response = await open_page(browser, link["url"])
    assert response.status == 410
    assert await page.get_by_role("heading", name="This link was already used").is_visible()
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
