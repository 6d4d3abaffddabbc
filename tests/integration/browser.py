"""A real Chromium, headless, driven over the DevTools protocol on a pipe (--remote-debugging-pipe:
JSON messages, each ended by a NUL byte, on file descriptors 3 and 4 of the browser). Standard
library only: no WebSocket client, no npm. Used by test_console.sh.

    with Browser(profile_dir) as b:
        page = b.new_page()
        page.goto("http://127.0.0.1:8080/")
        page.wait_for("document.querySelector('#key') !== null")
        page.click("#sign-in button")
"""
import base64
import json
import os
import select
import shutil
import subprocess
import time


class BrowserError(Exception):
    pass


def chromium_path():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


class Browser:
    def __init__(self, profile_dir, width=1280, height=900):
        os.makedirs(profile_dir, exist_ok=True)
        exe = chromium_path()
        if exe is None:
            raise BrowserError("no chromium on PATH")
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()

        def child_fds():
            # The browser reads commands on fd 3 and writes answers on fd 4. Through high numbers
            # first: a pipe may already be 3 or 4 (dup2 onto itself would keep close-on-exec).
            os.dup2(to_browser_r, 100)
            os.dup2(from_browser_w, 101)
            os.dup2(100, 3)
            os.dup2(101, 4)

        self.proc = subprocess.Popen(
            [exe, "--headless=new", "--remote-debugging-pipe", "--no-first-run",
             "--no-default-browser-check", "--disable-gpu", "--disable-extensions",
             "--disable-background-networking", "--disable-sync", "--mute-audio",
             "--no-sandbox",  # root in CI: Chromium's sandbox refuses to run as root
             f"--user-data-dir={profile_dir}", f"--window-size={width},{height}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=open(os.path.join(profile_dir, "chromium.log"), "wb"),
            # Python's own descriptors are close-on-exec (PEP 446): only the two dup2'd above reach
            # the browser, which close_fds would close again.
            preexec_fn=child_fds, close_fds=False)
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buffer = b""
        self._next_id = 0
        self.events = []  # every event seen: (sessionId, method, params)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        if self.proc.poll() is None:
            try:
                self.send("Browser.close", timeout=5)
            except (BrowserError, OSError):
                pass
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for fd in (self._to_browser, self._from_browser):
            try:
                os.close(fd)
            except OSError:
                pass

    def _read_message(self, deadline):
        while b"\0" not in self._buffer:
            left = deadline - time.time()
            if left <= 0:
                return None
            ready, _, _ = select.select([self._from_browser], [], [], left)
            if not ready:
                return None
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk:
                raise BrowserError("chromium closed the pipe (exit status %s)" % self.proc.poll())
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def send(self, method, params=None, session=None, timeout=15):
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.time() + timeout
        while True:
            answer = self._read_message(deadline)
            if answer is None:
                raise BrowserError(f"{method}: no answer in {timeout} s")
            if answer.get("id") == self._next_id:
                if "error" in answer:
                    raise BrowserError(f"{method}: {answer['error']}")
                return answer.get("result", {})
            if "method" in answer:
                self.on_event(answer)

    def pump(self, seconds):
        """Reads events for up to 'seconds'."""
        deadline = time.time() + seconds
        while True:
            message = self._read_message(deadline)
            if message is None:
                return
            if "method" in message:
                self.on_event(message)

    def on_event(self, message):
        self.events.append((message.get("sessionId"), message["method"], message.get("params", {})))
        # confirm() and alert() block the page until answered: accept confirms (the test asks for
        # what it clicks), and count alerts (none may open: escaped text never runs).
        if message["method"] == "Page.javascriptDialogOpening":
            os.write(self._to_browser, json.dumps({
                "id": 0, "method": "Page.handleJavaScriptDialog", "params": {"accept": True},
                "sessionId": message.get("sessionId")}).encode() + b"\0")

    def new_page(self):
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        page = Page(self, session)
        for domain in ("Page", "Runtime", "Log"):
            page.send(domain + ".enable")
        return page


class Page:
    def __init__(self, browser, session):
        self.browser = browser
        self.session = session

    def send(self, method, params=None, timeout=15):
        return self.browser.send(method, params, self.session, timeout)

    def goto(self, url):
        self.send("Page.navigate", {"url": url})

    def eval(self, expression):
        """The value of a JavaScript expression (awaited if a promise); raises on an exception."""
        result = self.send("Runtime.evaluate", {"expression": expression, "awaitPromise": True,
                                                "returnByValue": True})
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression}: {result['exceptionDetails'].get('exception', {}).get('description') or result['exceptionDetails']}")
        return result.get("result", {}).get("value")

    def wait_for(self, expression, timeout=10.0, what=None):
        """Polls the expression until it is truthy; returns how long that took, or raises."""
        started = time.time()
        while True:
            try:
                if self.eval(expression):
                    return time.time() - started
            except BrowserError:
                pass
            if time.time() - started > timeout:
                raise BrowserError(f"waited {timeout} s for {what or expression}")
            self.browser.pump(0.05)

    def click(self, selector):
        """A real mouse click at the middle of the element (scrolled into view first)."""
        box = self.eval(f"""(() => {{
            const e = document.querySelector({json.dumps(selector)});
            if (!e) return null;
            e.scrollIntoView({{block: 'center'}});
            const r = e.getBoundingClientRect();
            return {{x: r.left + r.width / 2, y: r.top + r.height / 2}};
        }})()""")
        if not box:
            raise BrowserError(f"nothing to click at {selector}")
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", {"type": kind, "x": box["x"], "y": box["y"],
                                                   "button": "left", "clickCount": 1})

    def type(self, selector, text):
        self.eval(f"document.querySelector({json.dumps(selector)}).focus()")
        self.send("Input.insertText", {"text": text})

    def screenshot(self, path):
        data = self.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))

    def viewport(self, width, height, mobile=False, scale=1):
        self.send("Emulation.setDeviceMetricsOverride", {"width": width, "height": height,
                                                         "deviceScaleFactor": scale, "mobile": mobile})

    def problems(self):
        """What the page logged as errors (CSP refusals, exceptions, failed loads), and dialogs."""
        out = []
        for session, method, params in self.browser.events:
            if session != self.session:
                continue
            if method == "Log.entryAdded" and params["entry"].get("level") == "error":
                out.append(params["entry"].get("text", ""))
            elif method == "Runtime.exceptionThrown":
                out.append(str(params["exceptionDetails"].get("exception", {}).get("description")))
            elif method == "Page.javascriptDialogOpening" and params.get("type") == "alert":
                out.append("an alert opened: " + params.get("message", ""))
        return out
