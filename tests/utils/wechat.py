"""WeChat test helpers: messages as WeChat's servers send them, and a local stand-in of WeChat's API.

Messages are serialised with wechatpy's own field serialisers (the same ones its replies use) and encrypted with
wechatpy's ``WeChatCrypto``; every built message is checked to parse back with ``wechatpy.parse_message``.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List, Tuple, Type

import xmltodict
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.fields import StringField
from wechatpy.messages import BaseMessage
from wechatpy.utils import WeChatSigner

ACCOUNT = "gh_0123456789ab"  # the Official Account's original ID (ToUserName)


def build_message(message_class: Type[BaseMessage], event: str | None = None, **values: Any) -> str:
    """The XML WeChat posts for a ``message_class`` (e.g. ``TextMessage``) with field ``values``.

    Defaults: ``source`` a test openid, ``target`` :data:`ACCOUNT`, ``time`` now; ``id`` (MsgId) must be given for
    messages and is left out for events (``event="subscribe"``).
    """
    values.setdefault("source", "oTestUser0000000000000000001")
    values.setdefault("target", ACCOUNT)
    values.setdefault("time", int(time.time()))
    nodes = [StringField("MsgType").to_xml("event" if event else message_class.type)]
    if event:
        nodes.append(StringField("Event").to_xml(event))
    written = {"MsgType", "Event"}
    for name, field in message_class._fields.items():
        if field.name in written or name not in values:
            continue
        nodes.append(field.to_xml(values[name]))
        written.add(field.name)
    xml = "<xml>\n" + "\n".join(nodes) + "\n</xml>"
    parsed = parse_message(xml)
    assert isinstance(parsed, message_class), f"{message_class.__name__} built as {type(parsed).__name__}"
    return xml


def signed_query(token: str, nonce: str | None = None, timestamp: str | None = None, **extra: str) -> Dict[str, str]:
    """``signature, timestamp, nonce`` as WeChat adds them to every callback URL (a fresh random nonce by default)."""
    timestamp = timestamp or str(int(time.time()))
    nonce = nonce or secrets.token_hex(8)
    signer = WeChatSigner()
    signer.add_data(token, timestamp, nonce)
    return {"signature": signer.signature, "timestamp": timestamp, "nonce": nonce, **extra}


def encrypted_post(
    token: str, aes_key: str, appid: str, xml: str, openid: str, nonce: str | None = None
) -> Tuple[Dict[str, str], str]:
    """(query, body) of a safe-mode POST: the message encrypted, ``msg_signature`` and ``encrypt_type=aes``."""
    nonce = nonce or secrets.token_hex(8)
    timestamp = str(int(time.time()))
    envelope = WeChatCrypto(token, aes_key, appid).encrypt_message(xml, nonce, timestamp)
    fields = xmltodict.parse(envelope)["xml"]
    body = f"<xml>\n<ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>\n<Encrypt><![CDATA[{fields['Encrypt']}]]></Encrypt>\n</xml>"
    query = signed_query(
        token, nonce=nonce, timestamp=timestamp,
        openid=openid, encrypt_type="aes", msg_signature=fields["MsgSignature"],
    )
    return query, body


def decrypt_reply(token: str, aes_key: str, appid: str, xml: str) -> str:
    """The plaintext XML of an encrypted passive reply (its MsgSignature checked by wechatpy)."""
    fields = xmltodict.parse(xml)["xml"]
    return WeChatCrypto(token, aes_key, appid).decrypt_message(
        xml, fields["MsgSignature"], fields["TimeStamp"], fields["Nonce"]
    )


class StandInWeChatAPI:
    """WeChat's API on 127.0.0.1: ``/cgi-bin/stable_token`` and ``/cgi-bin/message/custom/send``.

    Checks the AppID/secret and the access token like WeChat does and records every customer-service message.
    ``expire_next_token_use()`` makes the next send fail with 42001 (access token expired).
    """

    def __init__(self, appid: str, secret: str, port: int = 0) -> None:
        self.appid = appid
        self.secret = secret
        self.sent: List[Dict[str, Any]] = []
        self.token_requests = 0
        self.issued: List[str] = []
        self._expire_next = False
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def do_POST(self) -> None:  # noqa: N802
                url = urllib.parse.urlparse(self.path)
                query = dict(urllib.parse.parse_qsl(url.query))
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length).decode("utf-8") or "{}")
                answer = stand_in._handle(url.path, query, body)
                data = json.dumps(answer, ensure_ascii=False).encode("utf-8")
                self.send_response(200)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> StandInWeChatAPI:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def expire_next_token_use(self) -> None:
        with self._lock:
            self._expire_next = True

    def _handle(self, path: str, query: Dict[str, str], body: Dict[str, Any]) -> Dict[str, Any]:
        with self._lock:
            if path == "/cgi-bin/stable_token":
                self.token_requests += 1
                if body.get("appid") != self.appid or body.get("secret") != self.secret:
                    return {"errcode": 40013, "errmsg": "invalid appid"}
                token = f"STANDIN-ACCESS-TOKEN-{len(self.issued) + 1}"
                self.issued.append(token)
                return {"access_token": token, "expires_in": 7200}
            if path == "/cgi-bin/message/custom/send":
                if query.get("access_token") not in self.issued:
                    return {"errcode": 40001, "errmsg": "invalid credential"}
                if self._expire_next:
                    self._expire_next = False
                    self.issued.remove(query["access_token"])
                    return {"errcode": 42001, "errmsg": "access_token expired"}
                self.sent.append(body)
                self._arrived.notify_all()
                return {"errcode": 0, "errmsg": "ok"}
            return {"errcode": 404, "errmsg": "no such API in the stand-in"}

    def wait_for_messages(self, count: int, timeout: float = 10.0) -> List[Dict[str, Any]]:
        """The customer-service messages once ``count`` have arrived (raises after ``timeout`` seconds)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self.sent) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{len(self.sent)} of {count} customer-service messages after {timeout} s")
                self._arrived.wait(left)
            return list(self.sent)
