"""Free ports for the local services: free means a server could bind it now."""

from __future__ import annotations

import socket

from dev.home import port_is_free


def test_a_port_some_connection_uses_as_its_local_end_is_not_free() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server, socket.create_connection(server.getsockname()) as client:
        local_port = client.getsockname()[1]
        assert not port_is_free(local_port)


def test_a_listening_port_is_not_free_and_a_closed_one_is() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        assert not port_is_free(port)
    assert port_is_free(port)
