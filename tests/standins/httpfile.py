"""Answering an HTTP request with a local file's bytes, honouring a simple Range header."""

from __future__ import annotations

import mimetypes
import re
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler
from pathlib import Path

_RANGE = re.compile(r"bytes=(\d*)-(\d*)$")
_CHUNK = 64 * 1024


def send_file(handler: BaseHTTPRequestHandler, local: Path, head: bool = False) -> None:
    """Send `local` as the response: 200, 206 for one satisfiable range, 416 otherwise."""
    st = local.stat()
    span = byte_range(handler.headers.get("Range"), st.st_size)
    if span is False:
        handler.send_response(416)
        handler.send_header("Content-Range", f"bytes */{st.st_size}")
        handler.send_header("Content-Length", "0")
        handler.end_headers()
        return
    start, end = span or (0, st.st_size - 1)
    handler.send_response(206 if span else 200)
    content_type = mimetypes.guess_type(local.name)[0] or "application/octet-stream"
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(end - start + 1))
    handler.send_header("Accept-Ranges", "bytes")
    handler.send_header("Last-Modified", formatdate(st.st_mtime, usegmt=True))
    if span:
        handler.send_header("Content-Range", f"bytes {start}-{end}/{st.st_size}")
    handler.end_headers()
    if not head:
        _copy(local, handler.wfile, start, end - start + 1)


def byte_range(header: str | None, size: int) -> tuple[int, int] | None | bool:
    """Return (first, last) of one byte range, None for no usable Range, False if unsatisfiable."""
    if not header:
        return None
    match = _RANGE.match(header.strip())
    if not match or match.groups() == ("", ""):
        return None
    first, last = match.groups()
    if first == "":
        length = min(int(last), size)
        return (size - length, size - 1) if length else False
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    return (start, end) if start <= end else False


def _copy(local: Path, out, start: int, length: int) -> None:
    with local.open("rb") as source:
        source.seek(start)
        while length > 0:
            chunk = source.read(min(_CHUNK, length))
            if not chunk:
                return
            out.write(chunk)
            length -= len(chunk)
