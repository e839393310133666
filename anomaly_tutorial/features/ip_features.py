"""Features of IP addresses: internal or not, and the /16 subnet.

Only the distinct addresses of a column are parsed (with :mod:`ipaddress`), so the cost is
one parse per distinct address.
"""

from __future__ import annotations

import ipaddress

import numpy as np
import pandas as pd

__all__ = ["INTERNAL_NETWORKS", "ip_features", "ip_is_internal", "ip_subnet"]

#: Networks counted as internal: RFC 1918 private ranges, loopback, and their IPv6 analogues
#: (unique local ``fc00::/7`` and loopback ``::1``).
INTERNAL_NETWORKS: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = (
    ipaddress.ip_network("10.0.0.0/8"),
    ipaddress.ip_network("172.16.0.0/12"),
    ipaddress.ip_network("192.168.0.0/16"),
    ipaddress.ip_network("127.0.0.0/8"),
    ipaddress.ip_network("::1/128"),
    ipaddress.ip_network("fc00::/7"),
)


def _parse_uniques(values: pd.Series, column: str) -> tuple[np.ndarray, list]:
    codes, uniques = pd.factorize(values.astype(object), use_na_sentinel=True)
    parsed = []
    for u in uniques:
        try:
            parsed.append(ipaddress.ip_address(str(u).strip()))
        except ValueError:
            n_bad = int(np.sum(values.astype(object).to_numpy() == u))
            raise ValueError(
                f"column {column!r}: {u!r} is not an IP address ({n_bad} rows)"
            ) from None
    return codes, parsed


def _is_internal(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return any(ip.version == net.version and ip in net for net in INTERNAL_NETWORKS)


def _subnet(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    if ip.version == 4:
        value = int(ip)
        return f"{value >> 24}.{(value >> 16) & 255}.0.0/16"
    return str(ipaddress.ip_network(f"{ip}/32", strict=False))


def ip_features(values: pd.Series, column: str = "ip") -> tuple[np.ndarray, np.ndarray]:
    """Both :func:`ip_is_internal` and :func:`ip_subnet`, parsing each distinct address once."""
    codes, parsed = _parse_uniques(values, column)
    flags = np.array([*(_is_internal(ip) for ip in parsed), False], dtype=np.float64)
    nets = np.array([*(_subnet(ip) for ip in parsed), None], dtype=object)
    return flags[codes], nets[codes]  # code -1 (missing) picks the trailing entry


def ip_is_internal(values: pd.Series, column: str = "ip") -> np.ndarray:
    """Return 1.0 where the address is internal (see :data:`INTERNAL_NETWORKS`), else 0.0.

    Missing addresses give 0.0.

    Parameters
    ----------
    values
        Series of IP address strings (missing allowed).
    column
        Column name, used in error messages.

    Returns
    -------
    numpy.ndarray
        ``float64`` array of 0.0 / 1.0.

    Raises
    ------
    ValueError
        If a value is not a valid IPv4 or IPv6 address.
    """
    codes, parsed = _parse_uniques(values, column)
    flags = np.array([*(_is_internal(ip) for ip in parsed), False], dtype=np.float64)
    return flags[codes]


def ip_subnet(values: pd.Series, column: str = "ip") -> np.ndarray:
    """Return the network prefix of each address: ``/16`` for IPv4, ``/32`` for IPv6.

    Parameters
    ----------
    values
        Series of IP address strings (missing allowed).
    column
        Column name, used in error messages.

    Returns
    -------
    numpy.ndarray
        Object array of strings such as ``"10.1.0.0/16"``, ``None`` where the address is missing.
    """
    codes, parsed = _parse_uniques(values, column)
    nets = np.array([*(_subnet(ip) for ip in parsed), None], dtype=object)
    return nets[codes]
