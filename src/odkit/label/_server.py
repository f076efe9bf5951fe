"""The local HTTP server of ``odkit label``: the page, its assets, the image bytes and a small JSON API.

Every request must carry the session's token (``?token=``, the cookie the page sets, or the
``X-Odkit-Token`` header); without it the answer is 403 and nothing is read or written. Only files inside
the dataset are served (symlinks are followed, then checked), only its annotation files are written.

Routes (``N`` is the image's index in the list)::

    GET /                      the page (sets the token cookie)
    GET /static/app.js|app.css the page's assets (package data)
    GET /api/images            the image list: index, id, file, boxes, findings; class names; format;
                               with --model, "model" and each image's "disagreement" (null until
                               predicted; ?predict=all predicts every image first)
    GET /api/images/N          one image: boxes, classes, version, findings; with --model, "proposals"
                               (the model's boxes, score >= conf) and "disagreement"
    PUT /api/images/N          {"version", "boxes"} -> {"version", ...}; 409 when the file changed on disk
    GET /api/images/N/file     the image's bytes
    GET /files/PATH            a file of the dataset, PATH relative to the dataset folder
"""

from __future__ import annotations

import hmac
import json
import mimetypes
import re
import secrets
import threading
from http import HTTPStatus
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from odkit.label._errors import Forbidden, LabelError, NotFound
from odkit.label._store import LabelStore

STATIC = {"app.js": "text/javascript; charset=utf-8", "app.css": "text/css; charset=utf-8"}
MAX_BODY = 16 * 1024 * 1024
_IMAGE_ROUTE = re.compile(r"^/api/images/(\d+)(/file)?$")


def _asset(name: str) -> bytes:
    return resources.files("odkit.label").joinpath("static", name).read_bytes()


class LabelServer:
    """A ``ThreadingHTTPServer`` for one ``LabelStore``.

    Args:
        store: the dataset being labelled.
        host: interface to bind; 127.0.0.1 by default (anything else is reachable from the network).
        port: 0 picks a free port.
        token: the secret every request must carry; a fresh ``secrets.token_urlsafe(24)`` by default.
    """

    def __init__(self, store: LabelStore, host: str = "127.0.0.1", port: int = 0, token: str | None = None) -> None:
        self.store = store
        self.token = token or secrets.token_urlsafe(24)
        handler = type("Handler", (_Handler,), {"server_state": self})
        self.httpd = ThreadingHTTPServer((host, port), handler)
        self.httpd.daemon_threads = True
        self.host = host
        self.port = int(self.httpd.server_address[1])
        self.cookie_name = f"odkit_label_{self.port}"
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The page's URL, token included."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/?token={self.token}"

    def serve_forever(self) -> None:
        self.httpd.serve_forever()

    def start(self) -> LabelServer:
        """Serve from a daemon thread (tests, embedding); ``shutdown()`` stops it."""
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def shutdown(self) -> None:
        if self._thread is not None:
            self.httpd.shutdown()
            self._thread.join()
        self.httpd.server_close()

    def authorized(self, handler: BaseHTTPRequestHandler, query: dict[str, list[str]]) -> bool:
        """The token from the query, the header or the cookie matches (constant-time compare)."""
        given = [*query.get("token", []), handler.headers.get("X-Odkit-Token", "")]
        cookie = SimpleCookie()
        try:
            cookie.load(handler.headers.get("Cookie", ""))
        except Exception:  # a malformed Cookie header: no token from it
            cookie = SimpleCookie()
        if self.cookie_name in cookie:
            given.append(cookie[self.cookie_name].value)
        return any(g and hmac.compare_digest(g.encode(), self.token.encode()) for g in given)


class _Handler(BaseHTTPRequestHandler):
    server_state: LabelServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: the terminal shows the URL and errors only

    # ---- replies

    def _send(self, status: int, body: bytes, ctype: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Content-Security-Policy",
                         "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                         "connect-src 'self'; frame-ancestors 'none'")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, obj: Any) -> None:
        self._send(status, json.dumps(obj).encode("utf-8"), "application/json")

    def _error(self, status: int, message: str) -> None:
        self._json(status, {"error": message})

    # ---- dispatch

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        self._dispatch("GET")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        state = self.server_state
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        if not state.authorized(self, query):
            self._error(HTTPStatus.FORBIDDEN, "a valid token is required: open the URL odkit label printed")
            return
        path = parts.path
        try:
            if path == "/" and method == "GET":
                self._index()
            elif path.startswith("/static/") and method == "GET":
                name = path[len("/static/"):]
                if name not in STATIC:
                    raise NotFound(f"no asset {name!r}")
                self._send(HTTPStatus.OK, _asset(name), STATIC[name])
            elif path == "/api/images" and method == "GET":
                self._json(HTTPStatus.OK, state.store.summary(predict_all=query.get("predict") == ["all"]))
            elif path.startswith("/files/") and method == "GET":
                self._file(path[len("/files/"):])
            elif (m := _IMAGE_ROUTE.match(path)) is not None:
                self._image_route(method, int(m.group(1)), bool(m.group(2)))
            else:
                raise NotFound(f"no route {method} {path}")
        except LabelError as exc:
            self._error(exc.status, str(exc))
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _index(self) -> None:
        state = self.server_state
        html = _asset("index.html").replace(b"__ODKIT_TOKEN__", state.token.encode())
        cookie = f"{state.cookie_name}={state.token}; Path=/; HttpOnly; SameSite=Strict"
        self._send(HTTPStatus.OK, html, "text/html; charset=utf-8", {"Set-Cookie": cookie})

    def _file(self, raw: str) -> None:
        rel = unquote(raw)
        pure = PurePosixPath(rel)
        if not rel or "\\" in rel or "\x00" in rel or pure.is_absolute() or ".." in pure.parts or ":" in rel:
            raise Forbidden(f"{rel!r}: only paths inside the dataset, without '..', are served")
        store = self.server_state.store
        path = store.resolve_inside(store.roots[0] / Path(*pure.parts))
        self._bytes(path)

    def _bytes(self, path: Path) -> None:
        ctype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        self._send(HTTPStatus.OK, path.read_bytes(), ctype)

    def _image_route(self, method: str, index: int, file: bool) -> None:
        store = self.server_state.store
        if file and method == "GET":
            self._bytes(store.image_file(index))
        elif not file and method == "GET":
            self._json(HTTPStatus.OK, store.image(index))
        elif not file and method == "PUT":
            self._json(HTTPStatus.OK, store.save(index, *self._body()))
        else:
            raise NotFound(f"no route {method} {self.path.split('?')[0]}")

    def _body(self) -> tuple[str, Any]:
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            raise LabelError("expected a numeric Content-Length") from None
        if not 0 < length <= MAX_BODY:
            raise LabelError(f"expected a JSON body of 1..{MAX_BODY} bytes; got {length}")
        try:
            body = json.loads(self.rfile.read(length))
        except ValueError as exc:
            raise LabelError(f"the body is not JSON: {exc}") from None
        if not isinstance(body, dict) or not isinstance(body.get("version"), str) or "boxes" not in body:
            raise LabelError('expected {"version": "<as loaded>", "boxes": [...]}')
        return body["version"], body["boxes"]
