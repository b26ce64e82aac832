#!/usr/bin/env python3
"""Opens the page in headless Chromium, waits until it has run, saves a
screenshot (examples/web/screenshot.png) and prints the page's timings as
JSON. Run examples/web/build.sh first.

Talks to chromedriver over its HTTP (WebDriver) interface with the
standard library only. Usage: screenshot.py [WORKERS] [OUT.png]
"""
import base64
import json
import os
import subprocess
import sys
import threading
import time
import urllib.request

import serve

HERE = os.path.dirname(os.path.abspath(__file__))
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")


def call(base, method, path, body=None, timeout=60):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.loads(r.read())["value"]


def main():
    workers = int(sys.argv[1]) if len(sys.argv) > 1 else 4
    out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(HERE, "screenshot.png")
    httpd = serve.server(0)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    page = f"http://127.0.0.1:{httpd.server_address[1]}/index.html?workers={workers}"
    driver = subprocess.Popen([CHROMEDRIVER, "--port=9517"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = "http://127.0.0.1:9517"
    try:
        for _ in range(100):
            try:
                call(base, "GET", "/status", timeout=2)
                break
            except OSError:
                time.sleep(0.1)
        caps = {"capabilities": {"alwaysMatch": {"goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--disable-quic", "--no-first-run", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--window-size=900,900"],
        }}}}
        session = call(base, "POST", "/session", caps)["sessionId"]
        s = f"/session/{session}"
        call(base, "POST", s + "/url", {"url": page})
        deadline = time.time() + 300
        title = ""
        while time.time() < deadline:
            title = call(base, "GET", s + "/title")
            if title in ("done", "failed"):
                break
            time.sleep(0.5)
        status = call(base, "POST", s + "/execute/sync",
                      {"script": "return document.getElementById('status').textContent", "args": []})
        png = call(base, "GET", s + "/screenshot")
        with open(out, "wb") as f:
            f.write(base64.b64decode(png))
        result = call(base, "POST", s + "/execute/sync",
                      {"script": "return document.getElementById('json').textContent", "args": []})
        call(base, "DELETE", s)
        if title != "done":
            print(f"the page did not finish: {title!r}: {status}", file=sys.stderr)
            sys.exit(1)
        print(result)
        print(f"screenshot: {out}", file=sys.stderr)
    finally:
        driver.terminate()
        httpd.shutdown()


if __name__ == "__main__":
    main()
