"""Connection-level guards: the SSRF address policy and the total deadline of a request.

Both act on the socket, below requests and urllib3:

* ``AddressPolicy`` is checked on every address a host name resolves to, before connecting,
  and again on the peer of the connected socket. The connection goes to the checked IP, so a
  DNS answer that changes between check and connect (rebinding) cannot slip through. Redirect
  hops open new connections and are checked the same way.
* ``RequestScope`` gives one request a wall-clock deadline. A watchdog thread shuts the sockets
  of an overdue request down, which unblocks a read stuck on a server that trickles its
  headers or body one byte at a time (a per-read timeout never fires on such a server).

The scope travels in a thread-local, because urllib3 builds connections deep inside
requests where no argument of ours can reach.
"""

from __future__ import annotations

import contextlib
import heapq
import ipaddress
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.util.connection import create_connection

from aggregator.errors import ConnectError, DNSError, ForbiddenAddress, TimeoutError_

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Ranges Python does not count as non-global but that reach internal networks anyway.
_EXTRA_BLOCKED = tuple(
    ipaddress.ip_network(net)
    for net in ("100.64.0.0/10", "192.0.0.0/24", "192.88.99.0/24", "64:ff9b::/96", "2002::/16")
)


@dataclass(frozen=True)
class AddressPolicy:
    allow_private: bool = False
    allow_hosts: frozenset[str] = frozenset()

    def permits(self, host: str, ip: IPAddress) -> bool:
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if ip.is_multicast or ip.is_unspecified:
            return False
        if self.allow_private or host.lower().rstrip(".") in self.allow_hosts:
            return True
        return ip.is_global and not any(ip in net for net in _EXTRA_BLOCKED)


@dataclass
class RequestScope:
    """One guarded request: its address policy, deadline and the sockets it opened."""

    policy: AddressPolicy
    deadline: float  # time.monotonic() value
    expired: bool = False
    finished: bool = False
    _resources: list[Any] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def attach(self, resource: Any) -> None:
        with self._lock:
            self._resources.append(resource)
            if self.expired:
                _shutdown(resource)

    def expire(self) -> None:
        with self._lock:
            self.expired = True
            for resource in self._resources:
                _shutdown(resource)


def _shutdown(resource: Any) -> None:
    sock = resource.sock if isinstance(resource, HTTPConnection) else resource
    if sock is None:
        return
    # The base method shuts the descriptor down without touching TLS state that the
    # blocked reader is still using.
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


class Watchdog:
    """A daemon thread that expires scopes whose deadline has passed."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, RequestScope]] = []
        self._cond = threading.Condition()
        self._counter = 0
        threading.Thread(target=self._run, name="fetch-watchdog", daemon=True).start()

    def watch(self, scope: RequestScope) -> None:
        with self._cond:
            self._counter += 1
            earliest = self._heap[0][0] if self._heap else None
            heapq.heappush(self._heap, (scope.deadline, self._counter, scope))
            if earliest is None or scope.deadline < earliest:
                self._cond.notify()  # only then must the thread wake earlier than planned

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._heap:
                    self._cond.wait()
                deadline, _, scope = self._heap[0]
                delay = deadline - time.monotonic()
                if delay > 0:
                    self._cond.wait(delay)
                    continue
                heapq.heappop(self._heap)
            if not scope.finished:
                scope.expire()


_watchdog: Watchdog | None = None
_watchdog_lock = threading.Lock()
_local = threading.local()
_STRICT = AddressPolicy()


def _get_watchdog() -> Watchdog:
    global _watchdog
    with _watchdog_lock:
        if _watchdog is None:
            _watchdog = Watchdog()
        return _watchdog


@contextmanager
def guarded(policy: AddressPolicy, seconds: float) -> Iterator[RequestScope]:
    """Run a request under ``policy`` and cut it ``seconds`` from now."""
    scope = RequestScope(policy, time.monotonic() + seconds)
    _get_watchdog().watch(scope)
    _local.scope = scope
    try:
        yield scope
    finally:
        scope.finished = True
        _local.scope = None


def _current() -> RequestScope | None:
    return getattr(_local, "scope", None)


def open_socket(
    host: str, port: int, timeout: Any, source_address: Any, options: Any
) -> socket.socket:
    """Resolve ``host``, refuse forbidden addresses, connect to the first one that answers."""
    scope = _current()
    policy = scope.policy if scope else _STRICT
    addresses = _resolve(host, port)
    allowed = [ip for ip in addresses if policy.permits(host, ip)]
    if not allowed:
        shown = ", ".join(sorted({str(ip) for ip in addresses}))
        raise ForbiddenAddress(
            f"{host} resolves to {shown}: loopback, private, link-local and metadata addresses"
            " are refused (see fetch.allow_private_addresses and fetch.allow_hosts)"
        )
    last_error: OSError | None = None
    for ip in allowed:
        try:
            sock = create_connection((str(ip), port), timeout, source_address, options)
        except OSError as exc:
            last_error = exc
            continue
        _check_peer(sock, host, policy)
        if scope:
            scope.attach(sock)
        return sock
    if isinstance(last_error, socket.timeout):
        raise TimeoutError_(f"connecting to {host}:{port} timed out") from last_error
    raise ConnectError(f"cannot connect to {host}:{port}: {last_error}") from last_error


def _resolve(host: str, port: int) -> list[IPAddress]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise DNSError(f"cannot resolve {host}: {exc}") from exc
    found: list[IPAddress] = []
    for family, _, _, _, sockaddr in infos:
        if family in (socket.AF_INET, socket.AF_INET6):
            ip = ipaddress.ip_address(str(sockaddr[0]).split("%")[0])
            if ip not in found:
                found.append(ip)
    return found


def _check_peer(sock: socket.socket, host: str, policy: AddressPolicy) -> None:
    peer = ipaddress.ip_address(sock.getpeername()[0].split("%")[0])
    if not policy.permits(host, peer):
        sock.close()
        raise ForbiddenAddress(f"{host}: connected to a forbidden address {peer}")


class _GuardedMixin:
    _dns_host: str
    port: int
    timeout: Any
    source_address: Any
    socket_options: Any

    def _new_conn(self) -> socket.socket:
        return open_socket(
            self._dns_host.rstrip("."),
            self.port,
            self.timeout,
            self.source_address,
            self.socket_options,
        )

    def request(self, *args: Any, **kwargs: Any) -> Any:
        scope = _current()
        if scope:
            scope.attach(self)  # also covers a kept-alive connection taken from the pool
        return super().request(*args, **kwargs)  # type: ignore[misc]


class GuardedHTTPConnection(_GuardedMixin, HTTPConnection):
    pass


class GuardedHTTPSConnection(_GuardedMixin, HTTPSConnection):
    pass


class GuardedHTTPPool(HTTPConnectionPool):
    ConnectionCls = GuardedHTTPConnection


class GuardedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = GuardedHTTPSConnection


POOL_CLASSES = {"http": GuardedHTTPPool, "https": GuardedHTTPSPool}
