"""Screenshot a page of the Dagster UI with headless Chromium over the DevTools protocol.

Unlike `chromium --screenshot`, this waits for the page to be ready instead of a fixed time: until
its DOM holds every `--expect` text (if any), shows nothing "Loading…" and has stopped changing,
with no "Join the Dagster community" dialog in front (marked seen through the webserver's GraphQL
API, as its "Skip" button does, and closed if it shows up anyway). Chromium (its whole process
group) is stopped and gone before its temporary profile is deleted. Used for docs/ and by the UI
test.

    .venv/bin/python scripts/ui_screenshot.py http://127.0.0.1:3000/locations/iptables_assets/asset-groups/ingest docs/ui.png

Exit status 0 with the picture written; 1 with a message on stderr saying what was waited for and
the last state seen (missing texts, DOM size, the page's visible text).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
         # a page in a headless browser under load must not be throttled as if it were in the background
         "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
         "--disable-backgrounding-occluded-windows"]
CLOSE_DIALOG = """
(() => {
  const skip = [...document.querySelectorAll('button')].find(b => b.textContent.trim() === 'Skip');
  if (skip) { skip.click(); return true; }
  return false;
})()
"""
# One snapshot of the page: what the readiness poll looks at.
PAGE_STATE = r"""
(() => {
  const html = document.documentElement ? document.documentElement.outerHTML : '';
  const expect = %s;
  return {
    readyState: document.readyState,
    htmlLength: html.length,
    missing: expect.filter(t => !html.includes(t)),
    dialog: [...document.querySelectorAll('button')].some(b => b.textContent.trim() === 'Skip')
            || (document.body ? document.body.innerText.includes('Join the Dagster community') : false),
    loading: document.body ? /Loading[^\n]{0,25}?(\.\.\.|\u2026)/.test(document.body.innerText) : true,
    text: document.body ? document.body.innerText.slice(0, 1500) : '',
  };
})()
"""


MAX_SETTLE = 30  # s: once the expected content is there, the longest wait for the DOM to stop changing


class PageNotReady(Exception):
    """The page did not reach the awaited state before the deadline."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _page_socket(port: int, process: subprocess.Popen, seconds: float) -> str:
    """The DevTools websocket of Chromium's first tab, polled until it is listed."""
    deadline = time.monotonic() + seconds
    last = "nothing yet"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise PageNotReady(f"Chromium exited with status {process.returncode} before its DevTools endpoint came up")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5) as response:
                listed = json.load(response)
            pages = [p for p in listed if p.get("type") == "page" and p.get("webSocketDebuggerUrl")]
            if pages:
                return pages[0]["webSocketDebuggerUrl"]
            last = f"/json/list answered {listed!r}"
        except (OSError, ValueError) as error:
            last = f"{type(error).__name__}: {error}"
        time.sleep(0.5)
    raise PageNotReady(f"Chromium's DevTools endpoint on 127.0.0.1:{port} did not list a page within {seconds:.0f} s "
                       f"(last: {last})")


def mark_nux_seen(url: str, timeout: float = 30) -> str:
    """Tell the webserver its first-visit dialog was seen (what its "Skip" button does). Returns a
    note for the log; never raises (the dialog is also closed from the page if it appears)."""
    parts = urllib.parse.urlsplit(url)
    endpoint = urllib.parse.urlunsplit((parts.scheme, parts.netloc, "/graphql", "", ""))
    request = urllib.request.Request(endpoint, data=json.dumps({"query": "mutation { setNuxSeen }"}).encode(),
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return f"setNuxSeen: {response.read(200).decode(errors='replace')}"
    except (OSError, ValueError) as error:
        return f"setNuxSeen failed ({type(error).__name__}: {error})"


class _DevTools:
    def __init__(self, ws):
        self.ws = ws
        self.counter = 0

    async def call(self, method: str, timeout: float = 60, **params) -> dict:
        self.counter += 1
        ident = self.counter
        await self.ws.send(json.dumps({"id": ident, "method": method, "params": params}))

        async def answer() -> dict:
            while True:
                message = json.loads(await self.ws.recv())
                if message.get("id") == ident:
                    return message

        try:
            message = await asyncio.wait_for(answer(), timeout)
        except asyncio.TimeoutError:
            raise PageNotReady(f"DevTools {method} did not answer within {timeout:.0f} s") from None
        if "error" in message:
            raise PageNotReady(f"DevTools {method} failed: {message['error']}")
        return message.get("result", {})

    async def evaluate(self, expression: str, timeout: float = 60):
        result = await self.call("Runtime.evaluate", timeout=timeout, expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise PageNotReady(f"page script failed: {result['exceptionDetails'].get('text')}")
        return result.get("result", {}).get("value")


async def _capture(ws_url: str, url: str, out: Path, expect: list[str], seconds: float, settle: float,
                   dom_out: Path | None) -> str:
    import websockets

    deadline = time.monotonic() + seconds
    async with websockets.connect(ws_url, max_size=64 << 20, open_timeout=60, ping_interval=None) as ws:
        devtools = _DevTools(ws)
        await devtools.call("Page.enable")
        navigation = await devtools.call("Page.navigate", url=url)
        while navigation.get("errorText") and time.monotonic() < deadline:  # e.g. the server is restarting
            await asyncio.sleep(2)
            navigation = await devtools.call("Page.navigate", url=url)
        # Ready: every expected text in the DOM, no dialog, nothing "Loading…" and the DOM size
        # unchanged for `settle` s (the graph is laid out in a web worker and drawn after the data
        # arrive, then each node's live data). Polled, not slept.
        state: dict = {}
        ready_since, stable_since, last_length = None, None, -1
        while True:
            now = time.monotonic()
            try:
                state = await devtools.evaluate(PAGE_STATE % json.dumps(expect), timeout=max(5.0, deadline - now)) or {}
            except PageNotReady as error:  # a navigation in flight can destroy the context: try again
                state = {"error": str(error)}
            if state.get("dialog"):
                try:
                    await devtools.evaluate(CLOSE_DIALOG)
                except PageNotReady:
                    pass
                ready_since = stable_since = None
            elif state.get("readyState") == "complete" and not state.get("missing"):
                ready_since = ready_since or now
                if state.get("htmlLength") != last_length or state.get("loading"):
                    stable_since, last_length = now, state.get("htmlLength")
                # settled (nothing "Loading…", the DOM unchanged for `settle` s), or the content is
                # there and keeps changing (live timestamps) or loading: take it
                if now - stable_since >= settle or now - ready_since >= max(settle, MAX_SETTLE):
                    break
            else:
                ready_since = stable_since = None
            if now >= deadline:
                text = " | ".join(line.strip() for line in state.get("text", "").splitlines() if line.strip())
                raise PageNotReady(
                    f"timed out after {seconds:.0f} s waiting for {url} to be ready (expected texts in the DOM: "
                    f"{expect or 'none'}; document complete; no dialog in front). Last state: "
                    f"readyState={state.get('readyState')!r} missing={state.get('missing')!r} "
                    f"htmlLength={state.get('htmlLength')!r} dialog={state.get('dialog')!r} loading={state.get('loading')!r} "
                    f"error={state.get('error')!r} navigation={navigation.get('errorText') or 'ok'}; "
                    f"visible text: {text[:800]!r}")
            await asyncio.sleep(1.0)
        shot = await devtools.call("Page.captureScreenshot", timeout=120, format="png")
        if not shot.get("data"):
            raise PageNotReady(f"Page.captureScreenshot returned no data: {sorted(shot)}")
        out.write_bytes(base64.b64decode(shot["data"]))
        if dom_out is not None:
            dom_out.write_text(await devtools.evaluate("document.documentElement.outerHTML") or "")
        return await devtools.evaluate("document.body.innerText") or ""


def _group_alive(pgid: int) -> bool:
    """Whether any process of group `pgid` still runs (zombies aside: a container's init may not
    reap the browser's orphaned children)."""
    proc = Path("/proc")
    if not proc.is_dir():
        try:
            os.killpg(pgid, 0)
            return True
        except ProcessLookupError:
            return False
    for stat in proc.glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:
            return True
    return False


def _stop(process: subprocess.Popen) -> None:
    """Chromium runs in its own process group (browser, zygote, renderers, utility processes that
    write to the profile): end all of it, and wait until it is gone, before the profile is deleted.
    (Waiting for the browser process alone raced its children: "Directory not empty" under load.)"""
    for sig, seconds in ((signal.SIGTERM, 20), (signal.SIGKILL, 20)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and (process.poll() is None or _group_alive(process.pid)):
            time.sleep(0.2)
        if process.poll() is not None and not _group_alive(process.pid):
            break
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass


def _die_with_parent() -> None:
    """Linux: Chromium gets SIGKILL if this script dies without cleaning up (e.g. SIGKILLed)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001 - best effort, not Linux
        pass


def screenshot(url: str, out: Path, width: int = 1600, height: int = 1000, expect: list[str] | None = None,
               timeout: float = 240, settle: float = 3, dom_out: Path | None = None) -> str:
    """Save a PNG of `url` to `out` once the page is ready; return the page's visible text.

    Raises PageNotReady (saying what was awaited and the last state seen) after `timeout` s."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise FileNotFoundError("chromium is not installed (Debian package `chromium`)")
    started = time.monotonic()
    print(mark_nux_seen(url), file=sys.stderr)
    port = _free_port()
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as profile:  # Chromium may still be writing
        process = subprocess.Popen(
            [chromium, *FLAGS, f"--user-data-dir={profile}", f"--remote-debugging-port={port}",
             "--remote-debugging-address=127.0.0.1", f"--window-size={width},{height}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        try:
            ws_url = _page_socket(port, process, timeout)
            remaining = max(5.0, timeout - (time.monotonic() - started))
            return asyncio.run(_capture(ws_url, url, out, list(expect or []), remaining, settle, dom_out))
        finally:
            _stop(process)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("url")
    parser.add_argument("out", type=Path)
    parser.add_argument("--width", type=int, default=1600)
    parser.add_argument("--height", type=int, default=1000)
    parser.add_argument("--expect", action="append", default=[], metavar="TEXT",
                        help="wait until the page's DOM contains TEXT (repeatable)")
    parser.add_argument("--timeout", type=float, default=240, help="seconds to wait for the page (default 240)")
    parser.add_argument("--settle", type=float, default=3,
                        help="seconds the DOM must stay unchanged before the picture (default 3)")
    parser.add_argument("--dom", type=Path, help="also write the page's DOM (outerHTML) here")
    args = parser.parse_args()
    # SIGTERM (e.g. from a test's timeout) unwinds like Ctrl-C, so Chromium is stopped on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("ui_screenshot: terminated (SIGTERM)"))
    try:
        screenshot(args.url, args.out, args.width, args.height, args.expect, args.timeout, args.settle, args.dom)
    except PageNotReady as error:
        sys.exit(f"ui_screenshot: {error}")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
