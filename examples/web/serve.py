#!/usr/bin/env python3
"""Serves examples/web on http://127.0.0.1:PORT/ (default 8000) with the
cross-origin isolation headers that SharedArrayBuffer, and so Web Workers
sharing the module's memory, need."""
import functools
import http.server
import os
import sys


class Isolated(http.server.SimpleHTTPRequestHandler):
    def end_headers(self):
        self.send_header("Cross-Origin-Opener-Policy", "same-origin")
        self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, *args):
        pass


def server(port):
    here = os.path.dirname(os.path.abspath(__file__))
    handler = functools.partial(Isolated, directory=here)
    http.server.SimpleHTTPRequestHandler.extensions_map[".wasm"] = "application/wasm"
    http.server.SimpleHTTPRequestHandler.extensions_map[".js"] = "text/javascript"
    return http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8000
    print(f"http://127.0.0.1:{port}/")
    server(port).serve_forever()
