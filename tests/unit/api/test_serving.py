"""api.serving: connections keep TCP_NODELAY on a socket bound the way --workers binds it."""

from __future__ import annotations

import asyncio
import socket

from api.serving import NoDelayProtocol, set_nodelay


async def _accepted_nodelay(fix: bool) -> int:
    """TCP_NODELAY of the server side of one connection accepted on a protocol-0 socket."""
    listener = socket.socket(family=socket.AF_INET)  # as uvicorn's Config.bind_socket does
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    seen: list[int] = []

    class Probe(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            if fix:  # what NoDelayProtocol.connection_made does first
                set_nodelay(transport)
            sock = transport.get_extra_info("socket")
            seen.append(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            transport.close()

    loop = asyncio.get_running_loop()
    server = await loop.create_server(Probe, sock=listener)
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        for _ in range(200):
            if seen:
                break
            await asyncio.sleep(0.01)
        writer.close()
    finally:
        server.close()
        await server.wait_closed()
    return seen[0]


def test_a_protocol_zero_socket_loses_nodelay_and_set_nodelay_restores_it() -> None:
    """Without the fix an accepted connection has Nagle on (the --workers stall); with it, off."""
    assert asyncio.run(_accepted_nodelay(False)) == 0
    assert asyncio.run(_accepted_nodelay(True)) != 0


def test_nodelay_protocol_is_uvicorns_protocol() -> None:
    """It is the HTTP protocol uvicorn would pick itself (httptools or h11), extended."""
    from uvicorn.protocols.http.auto import AutoHTTPProtocol

    assert issubclass(NoDelayProtocol, AutoHTTPProtocol)
