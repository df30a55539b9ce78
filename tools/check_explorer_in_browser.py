"""Render the explorer in a real browser and check what it shows (a documented check, not part of the suite).

Serves the explorer with ``omsbayes explorer`` (Voila), opens it in headless
Chromium through the DevTools protocol, waits until the widgets have rendered,
checks the rendered page, then changes a toggle *in the browser* (a click) and
checks that the kernel answered with new results, and saves screenshots::

    python tools/check_explorer_in_browser.py [--out docs/images] [--chromium chromium]

Needs Chromium (Debian: ``apt-get install chromium``) and Voila
(``python -m pip install 'omsbayes[classroom]'``). Exits 1 if a check fails.

Checks
------
1. The page shows the title, the not-a-medical-device line, every finding's
   full label, the posterior bars (an image) and the "Which finding or test
   next?" table.
2. The results sit beside the controls: the plot's left edge is to the right
   of the toggles' right edge, and both start in the first screen (y < 900 px).
3. No label of a toggle row and no toggle button text is cut off (its scroll
   width fits its box).
4. Clicking "negative" on the body-imaging toggle changes the next-test table
   (the kernel recomputed) and the button is then the selected one.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from tornado.ioloop import IOLoop
from tornado.websocket import websocket_connect

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(url: str, seconds: float) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2).read(100)
            return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"nothing answered at {url} within {seconds:g} s")


class Page:
    """A minimal DevTools-protocol client for one page."""

    def __init__(self, ws):
        self.ws, self.next_id = ws, 0

    async def call(self, method: str, **params):
        self.next_id += 1
        await self.ws.write_message(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            msg = json.loads(await self.ws.read_message())
            if msg.get("id") == self.next_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg["result"]

    async def js(self, expression: str):
        result = await self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        return result["result"].get("value")

    async def wait_for(self, expression: str, seconds: float) -> None:
        deadline = time.time() + seconds
        while time.time() < deadline:
            if await self.js(expression):
                return
            time.sleep(0.5)
        raise SystemExit(f"timed out after {seconds:g} s waiting for: {expression}")

    async def click(self, element_js: str) -> bool:
        """A real mouse click (pressed and released) at the centre of the element ``element_js`` evaluates to."""
        box = await self.js(
            f"(() => {{ const e = {element_js}; if (!e) return null; const r = e.getBoundingClientRect();"
            " return r.width ? [r.left + r.width / 2, r.top + r.height / 2] : null; })()"
        )
        if not box:
            return False
        for kind in ("mousePressed", "mouseReleased"):
            await self.call("Input.dispatchMouseEvent", type=kind, x=box[0], y=box[1], button="left", clickCount=1)
        return True

    async def screenshot(self, path: Path) -> None:
        data = await self.call("Page.captureScreenshot", format="png")
        path.write_bytes(base64.b64decode(data["data"]))
        print(f"wrote {path}")


GEOMETRY = """(() => {
  const rect = e => e.getBoundingClientRect();
  const toggles = [...document.querySelectorAll('.widget-toggle-buttons')].filter(e => rect(e).width > 0);
  const plot = [...document.querySelectorAll('.jupyter-widgets-output-area img, .widget-output img')][0];
  const labels = [...document.querySelectorAll('.widget-hbox .widget-html-content span')];
  return {
    toggles_right: Math.max(...toggles.map(e => rect(e).right)),
    toggles_top: Math.min(...toggles.map(e => rect(e).top)),
    plot_left: plot ? rect(plot).left : null,
    plot_top: plot ? rect(plot).top : null,
    cut_labels: labels.filter(e => e.scrollWidth > e.parentElement.clientWidth + 1).map(e => e.textContent),
    cut_buttons: [...new Set(toggles.flatMap(t => [...t.querySelectorAll('button')])
      .filter(b => b.scrollWidth > b.clientWidth + 1).map(b => b.innerText))],
    text: document.body.innerText,
  };
})()"""


async def check(url: str, out: Path, chromium: str, labels: list[str]) -> list[str]:
    port = _free_port()
    profile = tempfile.mkdtemp(prefix="omsbayes-chromium-")
    browser = subprocess.Popen(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--remote-debugging-port={port}",
         "--window-size=1400,1000", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    failures: list[str] = []
    try:
        _wait_http(f"http://127.0.0.1:{port}/json/version", 30)
        target = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list").read())[0]
        page = Page(await websocket_connect(target["webSocketDebuggerUrl"], max_message_size=64 * 2**20))
        await page.call("Page.enable")
        await page.call("Emulation.setDeviceMetricsOverride", width=1400, height=1000, deviceScaleFactor=1, mobile=False)
        await page.call("Page.navigate", url=url)
        await page.wait_for("document.body && document.body.innerText.includes('Which finding or test next?')", 120)
        time.sleep(1.0)
        g = await page.js(GEOMETRY)
        text = g["text"]
        for needle in ["omsbayes what-if explorer", "not a medical device", "Which finding or test next?", *labels]:
            if needle not in text:
                failures.append(f"the page does not show {needle!r}")
        if g["plot_left"] is None:
            failures.append("no posterior plot image on the page")
        elif not g["plot_left"] >= g["toggles_right"]:
            failures.append(f"the plot (left {g['plot_left']:.0f} px) is not beside the toggles (right {g['toggles_right']:.0f} px)")
        elif not (g["plot_top"] < 900 and g["toggles_top"] < 900):
            failures.append(f"controls (top {g['toggles_top']:.0f} px) or results (top {g['plot_top']:.0f} px) below the first screen")
        if g["cut_labels"]:
            failures.append(f"labels cut off: {g['cut_labels']}")
        if g["cut_buttons"]:
            failures.append(f"toggle buttons cut off: {g['cut_buttons']}")
        await page.screenshot(out / "explorer_start.png")

        before = await page.js("document.body.innerText.split('Which finding or test next?')[1]")
        # the toggle is on the Tests tab: open it, as a student would, then click the button
        await page.click("[...document.querySelectorAll('.lm-TabBar-tab, .p-TabBar-tab')].find(t => t.innerText.trim() === 'Tests')")
        time.sleep(1.0)
        clicked = await page.click(
            "(() => { const row = [...document.querySelectorAll('.widget-hbox')]"
            ".find(r => r.innerText.startsWith('Body imaging shows a mass'));"
            " return row && [...row.querySelectorAll('button')].find(b => b.innerText.trim() === 'negative'); })()"
        )
        if not clicked:
            failures.append("could not find the 'negative' button of 'Body imaging shows a mass'")
        else:
            deadline = time.time() + 60
            after = before
            while after == before and time.time() < deadline:
                time.sleep(0.5)
                after = await page.js("document.body.innerText.split('Which finding or test next?')[1]")
            if after == before:
                failures.append("clicking a toggle did not change the results (no answer from the kernel)")
            selected = await page.js("""(() => {
              const row = [...document.querySelectorAll('.widget-hbox')].find(r => r.innerText.startsWith('Body imaging shows a mass'));
              const b = [...row.querySelectorAll('button')].find(b => b.innerText.trim() === 'negative');
              return b.classList.contains('mod-active'); })()""")
            if not selected:
                failures.append("the clicked button is not shown as selected")
            time.sleep(1.0)
            await page.screenshot(out / "explorer_after_click.png")
    finally:
        browser.terminate()
        browser.wait(10)
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="docs/images", help="where the screenshots go (default docs/images)")
    parser.add_argument("--chromium", default="chromium", help="the Chromium executable")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    import omsbayes

    model = omsbayes.load_model()
    labels = [model.label(v) for v in model.findings]
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "omsbayes", "explorer", "--age", "1.5", "opsoclonus=present", "ataxia=present",
         "--no-browser", "--port", str(port)],
        env=os.environ.copy(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}/"
        _wait_http(url, 60)
        failures = IOLoop.current().run_sync(lambda: check(url, out, args.chromium, labels), timeout=600)
    finally:
        server.terminate()
        server.wait(20)
    for failure in failures:
        print("FAIL:", failure)
    print("explorer browser check:", "failed" if failures else "passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
