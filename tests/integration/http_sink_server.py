#!/usr/bin/env python3
"""A real HTTP server for the webhook sink tests.

Logs every request as one JSON line (method, path, headers, body) to LOG,
answers 200 (or STATUS for the first FAIL_FIRST requests), and serves until
killed. usage: http_sink_server.py PORT LOG [FAIL_FIRST [STATUS]]
"""
import http.server
import json
import sys
import threading

port, log = int(sys.argv[1]), sys.argv[2]
fail_first = int(sys.argv[3]) if len(sys.argv) > 3 else 0
fail_status = int(sys.argv[4]) if len(sys.argv) > 4 else 500
lock = threading.Lock()
seen = 0


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        global seen
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with lock:
            seen += 1
            status = fail_status if seen <= fail_first else 200
            with open(log, "a") as f:
                f.write(json.dumps({"method": "POST", "path": self.path,
                                    "headers": dict(self.headers.items()),
                                    "body": body.decode("utf-8", "replace"),
                                    "status": status}) + "\n")
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
print("listening", flush=True)
server.serve_forever()
