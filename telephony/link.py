"""The AMI link: the transport seam between Asterisk and the connector.

Built on the `asterisk-ami` package's `AMIClient`, with two things mended that matter to a
connector that must run for months: its reader treats the 3 s socket timeout of an idle link
as a disconnect (we keep idle links open; keepalive Pings find dead ones), and it splits
packets by re-scanning a growing buffer with a regex (we split each received chunk once).
Events that the tracker does not need are dropped before they are parsed.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from asterisk.ami import AMIClient, Event, Response, SimpleAction

from telephony.errors import AmiAuthError, AmiConnectError, AmiProtocolError
from telephony.events import TRACKED_EVENTS, AmiEvent, is_tracked

log = logging.getLogger(__name__)

EventSink = Callable[[AmiEvent], None]


class _Client(AMIClient):
    """AMIClient that survives idle links and skips untracked events cheaply."""

    def __init__(self, *args: Any, keep_all: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.keep_all = keep_all
        self.sink: EventSink | None = None
        self.packets = 0
        self.malformed = 0
        self.disconnect_error: BaseException | None = None
        self.banner: str | None = None
        self.on_booted: Callable[[], None] | None = None

    def _next_pack(self) -> Iterator[str]:
        data = b""
        sock = self._socket
        banner_done = False
        while not self.finished.is_set():
            try:
                recv = sock.recv(self._buffer_size)
            except TimeoutError:
                continue  # an idle link is not a dead one
            except OSError as exc:
                self.disconnect_error = exc
                break
            if recv == b"":
                self.disconnect_error = ConnectionResetError("the PBX closed the AMI link")
                break
            data += recv
            if not banner_done:
                if b"\r\n" not in data:
                    continue
                line, data = data.split(b"\r\n", 1)
                banner_done = True
                yield self._decode_pack(line)
            if b"\r\n\r\n" not in data:
                continue
            *packs, data = data.split(b"\r\n\r\n")
            for pack in packs:
                yield self._decode_pack(pack)
        self.finished.set()
        with contextlib.suppress(OSError):
            sock.close()

    def listen(self) -> None:
        packs = self._next_pack()
        try:
            banner = next(packs)
        except StopIteration:
            self._fire_on_disconnect(error=self.disconnect_error or AmiProtocolError("no banner"))
            return
        self.banner = banner
        match = AMIClient.asterisk_start_regex.match(banner)
        if not match:
            self.finished.set()
            self._fire_on_disconnect(
                error=AmiProtocolError(f"not an Asterisk manager interface (banner {banner!r})")
            )
            return
        self._ami_version = match.group("version")
        self._fire_on_connect()
        for pack in packs:
            try:
                self.fire_recv_pack(pack)
            except Exception as exc:  # a bad packet must never kill the reader
                self.malformed += 1
                log.warning("skipped AMI packet that could not be read (%s): %r", exc, pack[:300])
        self._fire_on_disconnect(error=self.disconnect_error)

    def fire_recv_pack(self, pack: str) -> None:
        self.packets += 1
        if pack.startswith("Event: "):
            end = pack.find("\r\n")
            name = pack[7:end] if end != -1 else pack[7:]
            if name == "FullyBooted" and self.on_booted is not None:
                self.on_booted()
            if not self.keep_all and name not in TRACKED_EVENTS:
                return  # noise for call facts: not even parsed
            event = Event.read(pack)
            if self.sink is not None and (self.keep_all or is_tracked(event.name, event.keys)):
                self.sink(AmiEvent(event.name, event.keys, time.time()))
            return
        if Response.match(pack):
            self.fire_recv_reponse(Response.read(pack))
            return
        if pack.strip():
            self.malformed += 1
            log.warning("skipped malformed AMI packet: %r", pack[:300])


class AmiLink:
    """One logged-in AMI session; `open()` connects, logs in and waits for FullyBooted."""

    def __init__(
        self,
        host: str,
        port: int,
        username: str,
        secret: str,
        *,
        sink: EventSink,
        keep_all_events: bool = False,
        timeout_s: float = 5.0,
    ) -> None:
        self.host = host
        self.port = port
        self.username = username
        self.secret = secret
        self.timeout_s = timeout_s
        self._booted = threading.Event()
        self._closed = threading.Event()
        self._client = _Client(
            address=host,
            port=port,
            timeout=timeout_s,
            buffer_size=1 << 16,
            keep_all=keep_all_events,
        )
        self._client.sink = sink
        self._client.on_booted = self._booted.set
        self._client.add_listener(on_disconnect=self._on_disconnect)

    # -- reader thread callback
    def _on_disconnect(self, source: Any, error: BaseException | None = None) -> None:
        self.error = error
        self._closed.set()
        self._booted.set()  # wake anyone waiting for boot

    error: BaseException | None = None

    @property
    def alive(self) -> bool:
        """True while the link is up."""
        return not self._closed.is_set()

    @property
    def packets(self) -> int:
        """Packets received on this link."""
        return int(self._client.packets)

    def open(self) -> None:
        """Connect, log in and wait until Asterisk is fully booted."""
        try:
            self._client.connect()
        except OSError as exc:
            raise AmiConnectError(f"cannot reach AMI at {self.host}:{self.port}: {exc}") from exc
        answered = threading.Event()
        responses: list[Response] = []

        def on_login(response: Response) -> None:
            responses.append(response)
            answered.set()

        try:
            self._client.send_action(
                SimpleAction("Login", Username=self.username, Secret=self.secret, Events="on"),
                on_login,
            )
        except OSError as exc:  # reset by the peer before the Login went out
            self.close()
            raise AmiConnectError(
                f"{self.host}:{self.port} closed the link before the Login: {exc}"
            ) from exc
        deadline = time.monotonic() + self.timeout_s
        # wait for the answer, but not past the link's end (a refused link answers nothing)
        while not answered.wait(0.05) and self.alive and time.monotonic() < deadline:
            pass
        response = responses[0] if responses else None
        if response is None:
            self.close()
            if isinstance(self.error, AmiProtocolError):
                raise self.error
            if not self.alive:
                raise AmiConnectError(
                    f"{self.host}:{self.port} closed the link before answering the Login"
                    + (f" ({self.error})" if self.error else "")
                )
            raise AmiConnectError(
                f"no answer to Login from {self.host}:{self.port} within {self.timeout_s:.0f} s"
            )
        if response.is_error():
            self.close()
            message = response.keys.get("Message", "login refused")
            raise AmiAuthError(
                f"Asterisk refused AMI user {self.username!r}: {message}. Check the user and "
                "secret in manager.conf (and its permit/deny lines)."
            )
        if not self._booted.wait(self.timeout_s) or not self.alive:
            self.close()
            raise AmiConnectError("AMI link closed before Asterisk reported FullyBooted")

    def action(self, name: str, **headers: str) -> Response | None:
        """Send an action; the response, or None when none came within the timeout."""
        if not self.alive:
            return None
        try:
            return self._client.send_action(SimpleAction(name, **headers)).response
        except OSError as exc:
            log.info("AMI action %s failed: %s", name, exc)
            return None

    def ping(self) -> bool:
        """True when the PBX answered a Ping."""
        response = self.action("Ping")
        return response is not None and not response.is_error()

    def close(self, logoff: bool = False) -> None:
        """Log off (optionally) and close the socket."""
        if logoff and self.alive:
            with contextlib.suppress(OSError):
                self._client.send_action(SimpleAction("Logoff"))
        if self._client.finished is not None:
            self._client.finished.set()
        try:
            if self._client._socket is not None:
                self._client._socket.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            if self._client._socket is not None:
                self._client._socket.close()
        except OSError:
            pass
        self._closed.set()
