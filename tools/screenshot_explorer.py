"""Re-shoot docs/explorer.png: the explorer in its default state, scrubbed to iterate 8.

    .venv/bin/python tools/screenshot_explorer.py [-o docs/explorer.png]

Starts the real server on a free loopback port and drives Debian's Chromium (/usr/bin/chromium)
with Playwright, as tests/test_web_browser.py does; nothing is downloaded.
"""

from __future__ import annotations

import argparse
import logging
import threading

from playwright.sync_api import sync_playwright

from descentlab.web.app import create_app, make_server

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", default="docs/explorer.png")
    parser.add_argument("--step", type=int, default=8, help="the iterate to select")
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    server = make_server(create_app(), "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            page = browser.new_page(viewport={"width": 1500, "height": 950})
            page.goto(f"http://127.0.0.1:{server.server_port}/")
            page.wait_for_selector("#view-contour .js-plotly-plot .main-svg")
            handle = page.locator("#iterate [role=slider]")
            handle.focus()
            handle.press("Home")
            for _ in range(args.step):
                handle.press("ArrowRight")
            page.wait_for_function("t => document.querySelector('#iterate-label').innerText"
                                   ".includes(`iterate t = ${t} `)", arg=args.step)
            page.wait_for_timeout(500)  # let plotly finish its transition
            page.screenshot(path=args.output)
            browser.close()
    finally:
        server.shutdown()
        server.server_close()
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
