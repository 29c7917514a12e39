"""moto's request handler with connections kept open between requests, as AWS's endpoints keep them.

werkzeug's development server closes every connection after one response (it cannot tell where a request's
unread body ends), so each AWS call paid a TCP connect on the caller's side and a new thread on the
emulator's, and ran behind the caller's other calls for the CPU of both.
"""

from __future__ import annotations

import io
import socket

from moto.moto_server.werkzeug_app import MotoRequestHandler


class KeepAliveHandler(MotoRequestHandler):
    """A request with a Content-Length body is read whole before moto sees it and answered with the length of
    its response, and the connection stays open for the next one. Anything else (a chunked upload, Expect:
    100-continue, an error inside the server) is left to werkzeug, which closes the connection after it."""

    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def run_wsgi(self) -> None:
        length = self.headers.get("Content-Length", "0")
        if self.headers.get("Transfer-Encoding") or self.headers.get("Expect") or not length.isdigit():
            self.close_connection = True
            return super().run_wsgi()
        environ = self.make_environ()
        environ["wsgi.input"] = io.BytesIO(self.rfile.read(int(length)))
        answer: dict = {"early": []}

        def start_response(status, headers, exc_info=None):
            answer["status"], answer["headers"] = status, headers
            return answer["early"].append  # the WSGI write() callable, for apps that use it

        try:
            result = self.server.app(environ, start_response)
            try:
                payload = b"".join(answer["early"] + [bytes(chunk) for chunk in result])
            finally:
                if hasattr(result, "close"):
                    result.close()
        except Exception as exc:
            self.close_connection = True
            self.log_error("answering %s: %r", self.path, exc)
            self.send_error(500)
            return
        code, _, reason = answer["status"].partition(" ")
        head = self.command == "HEAD"  # its Content-Length is the object's, and no body follows
        self.send_response(int(code), reason)
        for key, value in answer["headers"]:
            if key.lower() in ("transfer-encoding", "connection") or (key.lower() == "content-length" and not head):
                continue
            self.send_header(key, value)
        if not head:
            self.send_header("Content-Length", str(len(payload)))
        # One write: headers and body as two segments could wait for the caller's delayed ACK.
        self._headers_buffer.append(b"\r\n")
        if not head:
            self._headers_buffer.append(payload)
        self.flush_headers()
