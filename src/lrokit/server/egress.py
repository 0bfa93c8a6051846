"""Which callback URLs the server may call: the operator's ``--callback-allow`` list.

A callback URL is chosen by whoever submits a report; left unchecked it would make the server
send requests into its own network on their behalf (server-side request forgery, OWASP
API7:2023). So the server calls only what its operator allowed, and decides by the address
it connects to, after DNS resolution, not by the name in the URL:

- a network (``10.1.2.0/24``, ``127.0.0.1``, ``::1``) allows every address in it, whatever
  name resolves there and whatever kind of address it is;
- a host name (``hooks.example.com``) allows that host, at whatever addresses its DNS gives:
  the operator vouched for it by name;
- a pattern (``*.example.com``, or ``*`` for any host) allows the hosts it matches, but only
  at public addresses: a private, loopback, link-local or otherwise non-global address
  (Python's ``ipaddress.is_global``; the cloud metadata address 169.254.169.254 is
  link-local) is refused unless a network entry holds it.

The address checked is the one connected to (the delivery pins it, see
:mod:`lrokit.server.work.callbacks`), so a name that resolves elsewhere between the check and
the connection (DNS rebinding) gains nothing. Redirects are never followed.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

#: Seconds a submission waits for the DNS answer that decides whether its URL may be called.
RESOLVE_TIMEOUT = 2.0


class Refused(Exception):
    """The server may not call this URL; the message says why, in one line."""


@dataclass(frozen=True)
class Target:
    """A callback URL taken apart: what to connect to and what to say it is."""

    scheme: str
    host: str  # lower case, without brackets
    port: int
    path: str  # path and query, as sent in the request line

    @property
    def authority(self) -> str:
        """The ``Host`` field's value (RFC 9110 §7.2): the port only when not the default."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = {"http": 80, "https": 443}[self.scheme]
        return host if self.port == default else f"{host}:{self.port}"

    def url_at(self, address: Address) -> str:
        """The URL with its host replaced by ``address``: the connection goes there."""
        host = f"[{address}]" if address.version == 6 else str(address)
        return f"{self.scheme}://{host}:{self.port}{self.path}"


def parse_target(url: str) -> Target:
    """The parts of ``url``; :class:`Refused` unless it is an absolute ``http`` or ``https``
    URL with a host and without credentials (they would be shown in the status document)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise Refused(f"{url!r} is not a URL: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise Refused(f"the callback URL's scheme must be http or https, not {scheme!r}")
    if parts.username is not None or parts.password is not None:
        raise Refused("the callback URL must not carry credentials (user:password@)")
    if not parts.hostname:
        raise Refused("the callback URL has no host")
    path = parts.path or "/"
    if parts.query:
        path += f"?{parts.query}"
    return Target(scheme, parts.hostname.lower(), port or {"http": 80, "https": 443}[scheme], path)


def _literal(host: str) -> Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


@dataclass(frozen=True)
class Egress:
    """The allow-list. Empty: no callback may be made."""

    networks: tuple[Network, ...] = ()
    names: frozenset[str] = frozenset()
    suffixes: tuple[str, ...] = ()  # ".example.com" for "*.example.com"
    any_host: bool = False  # "*"

    @classmethod
    def parse(cls, entries: Sequence[str]) -> Egress:
        """The allow-list of ``entries`` (networks, host names, ``*.domain``, ``*``);
        ``ValueError`` naming the first entry that is none of these."""
        networks: list[Network] = []
        names: set[str] = set()
        suffixes: list[str] = []
        any_host = False
        for raw in entries:
            entry = raw.strip().lower()
            if entry == "*":
                any_host = True
                continue
            if entry.startswith("*."):
                if not _is_host_name(entry[2:]):
                    raise ValueError(f"callback allow entry {raw!r}: not *.DOMAIN")
                suffixes.append(entry[1:])
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
                continue
            except ValueError:
                pass
            if "/" in entry or not _is_host_name(entry):
                raise ValueError(
                    f"callback allow entry {raw!r}: not a network (CIDR or address), a host"
                    " name, *.DOMAIN or *"
                )
            names.add(entry)
        return cls(tuple(networks), frozenset(names), tuple(suffixes), any_host)

    def __bool__(self) -> bool:
        return bool(self.networks or self.names or self.suffixes or self.any_host)

    def _in_networks(self, address: Address) -> bool:
        return any(address in network for network in self.networks)

    def admits(self, target: Target, address: Address) -> str | None:
        """Why the server may not connect to ``address`` for ``target``; None if it may."""
        if self._in_networks(address):
            return None
        if _literal(target.host) is None and target.host in self.names:
            return None
        if self.any_host or any(target.host.endswith(s) for s in self.suffixes):
            if address.is_global:
                return None
            return (
                f"{target.host} resolves to {address}, a non-public address that no network"
                " in --callback-allow holds"
            )
        return f"{target.host} is not allowed by --callback-allow"

    async def resolve(self, target: Target) -> list[Address]:
        """The addresses the server may connect to for ``target``, in DNS order;
        :class:`Refused` when there are none, saying why."""
        literal = _literal(target.host)
        if literal is not None:
            addresses = [literal]
        else:
            if not self._may_name(target.host):
                raise Refused(f"{target.host} is not allowed by --callback-allow")
            addresses = await _lookup(target.host, target.port)
        allowed = [a for a in addresses if self.admits(target, a) is None]
        if not allowed:
            raise Refused(str(self.admits(target, addresses[0])))
        return allowed

    def _may_name(self, host: str) -> bool:
        """Whether any entry could allow ``host`` (else it is not even looked up)."""
        return (
            bool(self.networks)
            or host in self.names
            or self.any_host
            or any(host.endswith(s) for s in self.suffixes)
        )


def _is_host_name(name: str) -> bool:
    labels = name.split(".")
    return bool(name) and all(
        0 < len(label) <= 63 and label.replace("-", "").isalnum() and label.isascii()
        for label in labels
    )


async def _lookup(host: str, port: int) -> list[Address]:
    """The addresses DNS gives for ``host``, within :data:`RESOLVE_TIMEOUT`."""
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(RESOLVE_TIMEOUT):
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except TimeoutError:
        raise Refused(f"{host} did not resolve within {RESOLVE_TIMEOUT:g} s") from None
    except OSError as exc:
        raise Refused(f"{host} does not resolve: {exc.strerror or exc}") from None
    found: dict[Address, None] = {}
    for _family, _type, _proto, _name, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%")[0])
        found[address] = None
    if not found:
        raise Refused(f"{host} resolves to no address")
    return list(found)
