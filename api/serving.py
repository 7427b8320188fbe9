"""The HTTP protocol ``pmo-risk serve`` runs uvicorn with (``--http api.serving:NoDelayProtocol``).

With ``workers > 1`` uvicorn binds the listening socket itself (``socket.socket(family)``,
protocol 0), and asyncio sets ``TCP_NODELAY`` only on sockets whose protocol is TCP: every
keep-alive answer then waits for the client's delayed ACK (about 40 ms). ``NoDelayProtocol``
sets ``TCP_NODELAY`` on each accepted connection, whatever the socket came from. Each worker
loads its own models, bounded to ``Settings.num_threads`` LightGBM threads, so N workers on N
cores do not spin against each other.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from uvicorn.protocols.http.auto import AutoHTTPProtocol


def set_nodelay(transport: Any) -> None:
    """Switch off Nagle's algorithm on a TCP transport's socket (other sockets: nothing)."""
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class NoDelayProtocol(AutoHTTPProtocol):  # type: ignore[misc,valid-type]
    """uvicorn's HTTP protocol (httptools when installed, else h11) with ``TCP_NODELAY``."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        set_nodelay(transport)
        super().connection_made(transport)
