#!/usr/bin/env python3
"""http-faults.py: a reverse proxy in front of a real server that answers some requests
itself with an HTTP error, to test how clients retry.

usage: http-faults.py LISTEN_PORT UPSTREAM_PORT STATUS COUNT [MATCH [RETRY_AFTER [after]]]

The first COUNT requests whose "METHOD path?query" contains MATCH (default: all) get
STATUS with an Azure-style XML error body (and Retry-After if given, "" for none); COUNT
-1 means every one.  With "after", those requests are forwarded first and only their
reply is replaced: a request that worked but whose answer was lost.  Everything else is
forwarded to 127.0.0.1:UPSTREAM_PORT unchanged.  Each injected fault is logged on stderr."""
import http.client, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

listen, upstream, status, count = (int(a) for a in sys.argv[1:5])
match = sys.argv[5] if len(sys.argv) > 5 else ""
retry_after = sys.argv[6] if len(sys.argv) > 6 and sys.argv[6] else None
after = len(sys.argv) > 7 and sys.argv[7] == "after"
lock = threading.Lock()
HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "te", "upgrade"}


class Proxy(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def inject(self):
        global count
        with lock:
            if count != 0 and match in f"{self.command} {self.path}":
                count -= 1
                return True
        return False

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.inject():
            if after:
                self.forward(body)
            sys.stderr.write(f"http-faults: {status} for {self.command} {self.path}\n")
            reply = b'<?xml version="1.0" encoding="utf-8"?><Error><Code>Injected</Code><Message>fault</Message></Error>'
            self.send_response(status)
            if retry_after is not None:
                self.send_header("Retry-After", retry_after)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(reply)
            return
        self.reply(*self.forward(body))

    def forward(self, body):
        """Sends the request upstream; returns the response and its body."""
        conn = http.client.HTTPConnection("127.0.0.1", upstream)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
        conn.request(self.command, self.path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        return resp, data

    def reply(self, resp, data):
        self.send_response(resp.status, resp.reason)
        for k, v in resp.getheaders():
            if k.lower() not in HOP and k.lower() != "content-length":
                self.send_header(k, v)
        self.send_header("Content-Length", resp.getheader("Content-Length") or str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_PUT = do_HEAD = do_DELETE = do_POST = handle_any


ThreadingHTTPServer(("127.0.0.1", listen), Proxy).serve_forever()
