"""The action server (actions/server.py) in a real Sanic server: forged calls without the token are refused, the
token lets Rasa in, and a deflate bomb is refused without inflating it whole."""

from __future__ import annotations

import json
import socket
import tracemalloc
import zlib

import httpx
import pytest
from sanic import Sanic

from actions.server import TOKEN_HEADER, create_app, inflate, is_loopback, main

Sanic.test_mode = True
TOKEN = "unit-test-action-token-7Yq"


@pytest.fixture()
async def server():
    app = create_app(TOKEN, max_body=1024 * 1024)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    sock.setblocking(False)
    running = await app.create_server(sock=sock, return_asyncio_server=True)
    await running.startup()
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    running.close()
    await running.wait_closed()
    Sanic._app_registry.pop(app.name, None)


def action_call(sender: str = "victim") -> dict:
    return {
        "next_action": "action_no_such_action",
        "sender_id": sender,
        "tracker": {"sender_id": sender, "slots": {}, "latest_message": {}, "events": []},
        "domain": {},
        "version": "3.6.21",
    }


async def test_forged_calls_are_refused(server):
    async with httpx.AsyncClient() as client:
        missing = await client.post(f"{server}/webhook", json=action_call())
        wrong = await client.post(f"{server}/webhook", json=action_call(), headers={TOKEN_HEADER: "guess"})
        listing = await client.get(f"{server}/actions")
        health = await client.get(f"{server}/health")
    assert missing.status_code == wrong.status_code == listing.status_code == 401
    assert health.status_code == 200


async def test_calls_with_the_token_run(server):
    async with httpx.AsyncClient() as client:
        call = await client.post(f"{server}/webhook", json=action_call(), headers={TOKEN_HEADER: TOKEN})
        listing = await client.get(f"{server}/actions", headers={TOKEN_HEADER: TOKEN})
    assert call.status_code == 404 and call.json()["action_name"] == "action_no_such_action"  # it ran the lookup
    assert listing.status_code == 200 and {"name": "action_answer"} in listing.json()


async def test_a_deflated_call_within_the_limit_runs(server):
    body = zlib.compress(json.dumps(action_call()).encode())
    async with httpx.AsyncClient() as client:
        call = await client.post(
            f"{server}/webhook", content=body,
            headers={TOKEN_HEADER: TOKEN, "Content-Encoding": "deflate", "Content-Type": "application/json"},
        )
    assert call.status_code == 404


async def test_a_deflate_bomb_is_refused_with_bounded_memory(server):
    bomb = zlib.compress(b"[" + b" " * 300_000_000 + b"]", 9)  # ~300 KB that inflates to 300 MB
    assert len(bomb) < 400_000
    async with httpx.AsyncClient(timeout=30) as client:
        tracemalloc.start()
        refused = await client.post(
            f"{server}/webhook", content=bomb,
            headers={TOKEN_HEADER: TOKEN, "Content-Encoding": "deflate", "Content-Type": "application/json"},
        )
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        gzip = await client.post(f"{server}/webhook", content=b"x",
                                 headers={TOKEN_HEADER: TOKEN, "Content-Encoding": "gzip"})
    assert refused.status_code == 413
    assert peak < 20 * 1024 * 1024  # the server (same process here) never held more than a few MB
    assert gzip.status_code == 415


async def test_a_bomb_without_the_token_is_not_even_inflated(server):
    bomb = zlib.compress(b" " * 50_000_000)
    async with httpx.AsyncClient() as client:
        refused = await client.post(f"{server}/webhook", content=bomb, headers={"Content-Encoding": "deflate"})
    assert refused.status_code == 401


def test_inflate_is_bounded():
    assert inflate(zlib.compress(b"a" * 100), 100) == b"a" * 100
    assert inflate(zlib.compress(b"a" * 101), 100) is None
    assert inflate(b"not deflate", 100) is None


def test_no_token_means_loopback_only(monkeypatch, capsys):
    monkeypatch.delenv("ACTION_SERVER_TOKEN", raising=False)
    assert main(["--host", "0.0.0.0", "--port", "1"]) == 2
    assert "ACTION_SERVER_TOKEN" in capsys.readouterr().err
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.10")
