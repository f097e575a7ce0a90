"""The guard in front of every server-side request to an admin-given URL
(webhooks, Teams): no private, loopback, link-local, metadata or other
non-public address, unless WEBHOOK_ALLOWED_HOSTS names the host or a network
holding the address.

The name is resolved once, every address it resolves to is checked, and the
request connects to the checked address (the URL keeps its host name in the
`Host` header and, for https, in SNI and the certificate check), so there is
no window in which a second DNS answer could point it elsewhere. Redirects
are never followed (`send()` sets `follow_redirects=False`).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

IP = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]

#: cloud metadata services, refused even where their range is allowed
METADATA = (
    ipaddress.ip_network("169.254.169.254/32"),
    ipaddress.ip_network("169.254.170.2/32"),
    ipaddress.ip_network("fd00:ec2::254/128"),
    ipaddress.ip_network("100.100.100.200/32"),
)


class Refused(Exception):
    """The URL may not be requested; the message says why (shown to admins)."""


@dataclass(frozen=True)
class Target:
    """A checked URL: connect to `address`, present `host`."""

    url: str
    scheme: str
    host: str
    port: int
    address: str
    path: str

    @property
    def connect_url(self) -> str:
        """The URL with the checked address in place of the host name."""
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"{self.scheme}://{host}:{self.port}{self.path}"

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"


#: NAT64 well-known prefix (RFC 6052): the last 32 bits are an IPv4 address
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
#: local-use NAT64 (RFC 8215): the IPv4 may sit anywhere; refused outright
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
#: deprecated IPv4-compatible addresses, ::a.b.c.d (:: and ::1 are not)
_COMPATIBLE = ipaddress.ip_network("::/96")


def _plain(ip: IP) -> IP:
    """The IPv4 address an IPv6 one carries and reaches (IPv4-mapped,
    IPv4-compatible, 6to4, NAT64), else the address itself: Python 3.11's
    `is_global` calls 64:ff9b::a9fe:a9fe or 2002:7f00:1:: global."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return ip
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64 or (ip in _COMPATIBLE and int(ip) > 1):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip


def is_public(ip: IP) -> bool:
    """A globally routable unicast address (not private, loopback,
    link-local, unique-local, shared, reserved, multicast, unspecified),
    judged by the IPv4 address an IPv6 one embeds."""
    if isinstance(ip, ipaddress.IPv6Address) and ip in _NAT64_LOCAL:
        return False
    ip = _plain(ip)
    return ip.is_global and not ip.is_multicast


def allowed_by(ip: IP, host: str, allowed: Sequence[str]) -> bool:
    """WEBHOOK_ALLOWED_HOSTS names the host, or a network holding `ip`."""
    ip = _plain(ip)
    if any(m.version == ip.version and ip in m for m in METADATA):
        return False
    for item in allowed:
        if item == host.lower():
            return True
        try:
            network = ipaddress.ip_network(item, strict=False)
        except ValueError:
            continue
        if network.version == ip.version and ip in network:
            return True
    return False


def parse(url: str) -> tuple[str, str, int, str]:
    """Scheme, host, port and path of an http(s) URL; Refused when it is not one."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise Refused(f"not a valid URL: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise Refused("the URL must start with http:// or https://")
    if not parts.hostname:
        raise Refused("the URL has no host")
    if parts.username or parts.password:
        raise Refused("the URL must not carry a user name or password")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return (
        parts.scheme,
        parts.hostname.lower(),
        port or (443 if parts.scheme == "https" else 80),
        path,
    )


def check_literal(url: str, allowed: Sequence[str]) -> None:
    """At creation: refuse a URL whose host is a forbidden address written out
    (names are checked after resolution, at every delivery)."""
    _scheme, host, _port, _path = parse(url)
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        if host == "localhost" or host.endswith(".localhost"):
            if not allowed_by(ipaddress.ip_address("127.0.0.1"), host, allowed):
                raise Refused(f"{host} is a loopback address") from None
        return
    if not is_public(ip) and not allowed_by(ip, host, allowed):
        raise Refused(f"{host} is not a public address")


async def system_resolve(host: str, port: int) -> list[str]:
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise Refused(f"cannot resolve {host}: {exc.strerror}") from None
    return list(dict.fromkeys(info[4][0] for info in infos))


async def resolve(url: str, allowed: Sequence[str], resolver: Resolver | None = None) -> Target:
    """Resolve and check `url`; Refused unless every address it resolves to
    is public or allowed. The Target names the address to connect to."""
    scheme, host, port, path = parse(url)
    try:
        addresses = [str(ipaddress.ip_address(host))]
    except ValueError:
        addresses = await (resolver or system_resolve)(host, port)
    if not addresses:
        raise Refused(f"{host} resolves to no address")
    for raw in addresses:
        ip = ipaddress.ip_address(raw.split("%", 1)[0])
        if any(m.version == _plain(ip).version and _plain(ip) in m for m in METADATA):
            raise Refused(f"{host} resolves to a metadata address ({ip})")
        if not is_public(ip) and not allowed_by(ip, host, allowed):
            raise Refused(f"{host} resolves to a non-public address ({ip})")
    return Target(url, scheme, host, port, addresses[0].split("%", 1)[0], path)
