"""Screenshot a page of the Dagster UI with headless Chromium over the DevTools protocol.

Unlike `chromium --screenshot`, this closes the UI's first-visit "Join the Dagster community"
dialog before the picture is taken. Used for docs/ and by the UI test.

    .venv/bin/python scripts/ui_screenshot.py http://127.0.0.1:3000/locations/iptables_assets/asset-groups/ingestion docs/ui.png
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
CLOSE_DIALOG = """
(() => {
  const skip = [...document.querySelectorAll('button')].find(b => b.textContent.trim() === 'Skip');
  if (skip) { skip.click(); return true; }
  return false;
})()
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _page_socket(port: int, seconds: float = 30) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=2) as response:
                pages = [p for p in json.load(response) if p.get("type") == "page"]
            if pages:
                return pages[0]["webSocketDebuggerUrl"]
        except OSError:
            pass
        time.sleep(0.5)
    raise TimeoutError("Chromium's DevTools endpoint did not come up")


async def _capture(ws_url: str, url: str, out: Path, wait: float) -> str:
    import websockets

    async with websockets.connect(ws_url, max_size=64 << 20) as ws:
        counter = 0

        async def call(method: str, **params):
            nonlocal counter
            counter += 1
            await ws.send(json.dumps({"id": counter, "method": method, "params": params}))
            while True:
                message = json.loads(await ws.recv())
                if message.get("id") == counter:
                    return message.get("result", {})

        await call("Page.enable")
        await call("Page.navigate", url=url)
        await asyncio.sleep(wait)
        for _ in range(10):  # the dialog appears a moment after the page
            closed = await call("Runtime.evaluate", expression=CLOSE_DIALOG, returnByValue=True)
            if closed.get("result", {}).get("value"):
                break
            await asyncio.sleep(0.5)
        await asyncio.sleep(1.5)
        shot = await call("Page.captureScreenshot", format="png")
        out.write_bytes(base64.b64decode(shot["data"]))
        text = await call("Runtime.evaluate", expression="document.body.innerText", returnByValue=True)
        return text.get("result", {}).get("value", "")


def screenshot(url: str, out: Path, width: int = 1600, height: int = 1000, wait: float = 8.0) -> str:
    """Save a PNG of `url` to `out`; return the page's visible text."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise FileNotFoundError("chromium is not installed (Debian package `chromium`)")
    port = _free_port()
    with tempfile.TemporaryDirectory() as profile:
        process = subprocess.Popen(
            [chromium, *FLAGS, f"--user-data-dir={profile}", f"--remote-debugging-port={port}",
             "--remote-debugging-address=127.0.0.1", f"--window-size={width},{height}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            return asyncio.run(_capture(_page_socket(port), url, out, wait))
        finally:
            process.terminate()
            process.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("url")
    parser.add_argument("out", type=Path)
    parser.add_argument("--width", type=int, default=1600)
    parser.add_argument("--height", type=int, default=1000)
    args = parser.parse_args()
    screenshot(args.url, args.out, args.width, args.height)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
