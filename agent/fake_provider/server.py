"""A local HTTP server that speaks the Anthropic Messages and OpenAI Chat Completions APIs.

It answers from an `agent.simulate.script.Script`, or from a `Responder` that builds each turn from
the request itself (the simulated population, `agent.fake_provider.sim`); streams exactly the SSE
events the real services send (so the real SDKs parse it), validates requests the way the real APIs
do, computes usage with prompt-cache fields, injects scripted faults and records every request for
tests to inspect. A fault with `invalid` set is not an error: its request gets a normal, billed turn
whose reply is invalid (`agent.simulate.script.invalid_turn`), built like any other. A fault may also
hang (past the client's timeout), cut the real reply's stream short (`Fault.cut_after`), answer every
request for a while (`Fault.for_s`: a storm of 429s) or say the account is out of quota (`Fault.quota`).
"""

from __future__ import annotations

import fnmatch
import json
import secrets
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal, Protocol

from pydantic import BaseModel, Field

from agent.fake_provider import anthropic_api, openai_api
from agent.fake_provider.cache import AnthropicCache, PrefixCache, anthropic_prompt_tokens, openai_prompt_tokens
from agent.simulate.script import Fault, Script, ScriptedTurn, invalid_turn

BAD_KEY = "bad-key"

Api = Literal["anthropic", "openai"]


class RequestRejected(Exception):
    """A responder cannot answer this request; the client gets a 400 with this message."""


class Responder(Protocol):
    """Answers requests in place of the script, from what each request holds."""

    def turn(self, api: Api, body: dict[str, Any], effort: str | None, index: int) -> ScriptedTurn:
        """The turn to send back for `body` (its `index`-th assistant turn), or RequestRejected."""
        ...


NO_ANSWER = 0
"""The recorded status of a request the fake hung up on without answering."""

Ending = Literal["complete", "drop", "hang"]
"""How a reply ends: in full; hanging up (mid-stream, or before any byte); holding the connection first."""


class RecordedRequest(BaseModel):
    """One request the fake received and what it answered."""

    path: str
    body: dict[str, Any] = Field(default_factory=dict)
    headers: dict[str, str] = Field(default_factory=dict, description="Lower-cased header names.")
    status: int = Field(200, description="0 (NO_ANSWER): hung up on without an answer.")
    usage: dict[str, Any] | None = None
    stream: bool = False


@dataclass
class Reply:
    status: int
    body: bytes = b""
    events: list[bytes] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    usage: dict[str, Any] | None = None
    delay_s: float = 0.0
    ending: Ending = "complete"
    hang_s: float = 0.0

    def cut(self, fault: Fault, module: Any) -> Reply:
        """This streamed reply cut short as `fault` says (see `agent.simulate.script`)."""
        if self.events is None or fault.cut_after is None:
            return self
        events = self.events[: fault.cut_after]
        if fault.cut == "error":
            return replace(self, events=[*events, module.stream_error(fault.message)])
        return replace(self, events=events, ending=fault.cut, hang_s=fault.hang_s)


@dataclass(frozen=True)
class Wire:
    """What differs between the two APIs on the way to a turn: the module that speaks the API
    (`turn_index`, `effort_of`, `error_body`, the malformed replies), how it counts a prompt's
    tokens, and its error message for a prompt over the context window."""

    api: Api
    module: Any
    prompt_tokens: Callable[[dict[str, Any]], int]
    too_long: Callable[[int, int], str]


def _json_reply(status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> Reply:
    return Reply(status=status, body=json.dumps(payload).encode(), headers=headers or {})


class FakeProvider:
    """The fake provider on 127.0.0.1, serving from a background thread while in a `with` block."""

    def __init__(
        self,
        script: Script | None = None,
        *,
        responder: Responder | None = None,
        min_cache_tokens: int = 1024,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.script = script or Script()
        self.responder = responder
        self.secret = secrets.token_bytes(32)
        self.anthropic_cache = AnthropicCache(min_cache_tokens)
        self.prefix_cache = PrefixCache()
        self._fault_left = [fault.count for fault in self.script.faults]
        self._fault_began: list[float | None] = [None for _ in self.script.faults]
        """When each window fault (`Fault.for_s`) first answered (monotonic seconds)."""
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._host = host
        self._server = _Server((host, port), _Handler)
        self._server.fake = self
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self._server.server_port}"

    @property
    def anthropic_base_url(self) -> str:
        return self.url

    @property
    def openai_base_url(self) -> str:
        return f"{self.url}/v1"

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def sign(self, thinking: str) -> str:
        """The signature this server gives (and accepts) for a thinking text."""
        return anthropic_api.sign(self.secret, thinking)

    def start(self) -> FakeProvider:
        """Serve from a background thread (once: a started server stays as it is)."""
        if self._thread is not None:
            return self
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="fake-provider", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> FakeProvider:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # Request handling (called from handler threads).

    def record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def take_fault(self, model: str, turn: int) -> Fault | None:
        """The first fault that answers this request: one of its `count` left, or inside its window."""
        with self._lock:
            now = time.monotonic()
            for number, fault in enumerate(self.script.faults):
                if (fault.turn is not None and fault.turn != turn) or not fnmatch.fnmatch(model, fault.model):
                    continue
                if fault.for_s is not None:
                    began = self._fault_began[number]
                    if began is None:
                        began = self._fault_began[number] = now
                    if now - began < fault.for_s:
                        return fault
                elif self._fault_left[number] > 0:
                    self._fault_left[number] -= 1
                    return fault
        return None

    def answer(self, path: str, headers: dict[str, str], body: dict[str, Any]) -> Reply:
        if path == "/v1/messages":
            return self._answer_anthropic(headers, body)
        if path == "/v1/chat/completions":
            return self._answer_openai(headers, body)
        return _json_reply(404, anthropic_api.error_body(404, f"Not found: {path}"))

    def _fault_reply(self, fault: Fault, stream: bool, api: Any) -> Reply:
        time.sleep(fault.delay_s)
        if fault.hang_s:
            return Reply(status=NO_ANSWER, ending="hang", hang_s=fault.hang_s)
        if fault.malformed:
            if stream:
                return Reply(status=200, events=[api.MALFORMED_STREAM])
            return Reply(status=200, body=api.MALFORMED_BODY)
        headers = {} if fault.retry_after is None else {"retry-after": f"{fault.retry_after:g}"}
        if fault.quota:
            status, body = api.quota_error()
            return _json_reply(status, body, headers)
        return _json_reply(fault.status, api.error_body(fault.status, fault.message), headers)

    def _answer_anthropic(self, headers: dict[str, str], body: dict[str, Any]) -> Reply:
        key = headers.get("x-api-key") or _bearer(headers)
        if not key:
            return _json_reply(401, anthropic_api.error_body(401, "x-api-key header is required"))
        if key == BAD_KEY:
            return _json_reply(401, anthropic_api.error_body(401, "invalid x-api-key"))
        wire = Wire("anthropic", anthropic_api, anthropic_prompt_tokens, anthropic_api.too_long)
        answered = self._checked_turn(wire, body, lambda: anthropic_api.validate(body, self.script, self.secret))
        if isinstance(answered, Reply):
            return answered
        turn, index, fault = answered
        usage = self.anthropic_cache.account(str(body.get("model", "")), body)
        message, raw_inputs = anthropic_api.build_message(body, turn, index, usage, self.secret, _tag(fault))
        reply = Reply(status=200, usage=message["usage"], delay_s=turn.delay_s)
        if body.get("stream"):
            reply.events = anthropic_api.stream_events(message, raw_inputs)
        else:
            reply.body = json.dumps(message).encode()
        return reply if fault is None else reply.cut(fault, anthropic_api)

    def _answer_openai(self, headers: dict[str, str], body: dict[str, Any]) -> Reply:
        key = _bearer(headers)
        if not key:
            message = "You didn't provide an API key. You need to provide your API key in an Authorization header."
            return _json_reply(
                401,
                {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": None}},
            )
        if key == BAD_KEY:
            message = f"Incorrect API key provided: {BAD_KEY}. You can find your API key in your account settings."
            return _json_reply(401, openai_api.error_body(401, message))
        wire = Wire("openai", openai_api, openai_prompt_tokens, openai_api.too_long)
        answered = self._checked_turn(wire, body, lambda: openai_api.validate(body))
        if isinstance(answered, Reply):
            return answered
        turn, index, fault = answered
        prompt_tokens, cached = self.prefix_cache.account(str(body.get("model", "")), body)
        completion = openai_api.build_completion(body, turn, index, prompt_tokens, cached, _tag(fault))
        reply = Reply(status=200, usage=completion["usage"], delay_s=turn.delay_s)
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            reply.events = openai_api.stream_chunks(completion, include_usage)
        else:
            reply.body = json.dumps(completion).encode()
        return reply if fault is None else reply.cut(fault, openai_api)

    def _checked_turn(
        self, wire: Wire, body: dict[str, Any], problem_of: Callable[[], str | None]
    ) -> tuple[ScriptedTurn, int, Fault | None] | Reply:
        """The turn to answer `body` with, its index and the fault that shaped it; or the error reply:
        a scripted fault, the API's 400 (`problem_of`, a prompt over the model's window), a rejection."""
        model, index = str(body.get("model", "")), wire.module.turn_index(body)
        fault = self.take_fault(model, index)
        if fault is not None and not fault.answers:
            return self._fault_reply(fault, bool(body.get("stream")), wire.module)
        problem = problem_of()
        window, prompt = self.script.window_for(model), wire.prompt_tokens(body)
        if problem is None and window is not None and prompt > window:
            problem = wire.too_long(prompt, window)
        if problem is not None:
            return _json_reply(400, wire.module.error_body(400, problem))
        try:
            return self._turn(wire.api, body, wire.module.effort_of(body), index, fault), index, fault
        except RequestRejected as exc:
            return _json_reply(400, wire.module.error_body(400, str(exc)))

    def _turn(
        self, api: Api, body: dict[str, Any], effort: str | None, index: int, fault: Fault | None
    ) -> ScriptedTurn:
        if fault is not None and fault.invalid is not None:
            return invalid_turn(fault.invalid).model_copy(update={"delay_s": fault.delay_s})
        if self.responder is not None:
            return self.responder.turn(api, body, effort, index)
        return self.script.turn_for(str(body.get("model", "")), effort, index)


def _tag(fault: Fault | None) -> str:
    """How the tool call ids of a reply are tagged: "invalid" for an invalid fault's, "fake" otherwise."""
    return "fake" if fault is None else "invalid"


def _bearer(headers: dict[str, str]) -> str:
    """The key of an `Authorization: Bearer KEY` header ('' when there is none)."""
    scheme, _, key = headers.get("authorization", "").partition(" ")
    return key.strip() if scheme.lower() == "bearer" else ""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeProvider

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that hang up (timeouts, interrupted streams) are normal here, not errors."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # small SSE writes would otherwise wait for delayed ACKs (~40 ms)
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: requests are recorded, not logged."""

    def do_POST(self) -> None:
        path = self.path.split("?", 1)[0]
        headers = {name.lower(): value for name, value in self.headers.items()}
        raw = self.rfile.read(int(headers.get("content-length") or 0))
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = None
        fake = self.server.fake
        if not isinstance(body, dict):
            reply = _json_reply(400, anthropic_api.error_body(400, "There was an error parsing the body as JSON"))
            body = {}
        else:
            reply = fake.answer(path, headers, body)
        fake.record(
            RecordedRequest(
                path=path,
                body=body,
                headers=headers,
                status=reply.status,
                usage=reply.usage,
                stream=reply.events is not None,
            )
        )
        time.sleep(reply.delay_s)
        try:
            self._send(reply)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _hang_up(self, reply: Reply) -> None:
        """End the connection without finishing the reply (after holding it `hang_s` when it hangs)."""
        if reply.ending == "hang":
            time.sleep(reply.hang_s)
        self.close_connection = True
        self.connection.shutdown(socket.SHUT_RDWR)

    def _send(self, reply: Reply) -> None:
        if reply.status == NO_ANSWER:
            self._hang_up(reply)
            return
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if reply.events is None:
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)
            return
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        for event in reply.events:
            self.wfile.write(f"{len(event):X}\r\n".encode() + event + b"\r\n")
            self.wfile.flush()
        if reply.ending != "complete":
            self._hang_up(reply)
            return
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()
