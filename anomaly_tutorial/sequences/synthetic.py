"""A small synthetic log benchmark shaped like HDFS block sessions.

In the HDFS logs used by DeepLog (Du et al., 2017) each session is the life of one storage
block: it is allocated, written to two or three replicas whose log lines interleave, sometimes
verified, and sometimes deleted. This module generates sessions from such a grammar, with the
randomness of interleaving that makes the problem non-trivial, and anomalous sessions of four
kinds:

``error_event``
    an exception event, never seen in normal sessions, appears somewhere (easy);
``out_of_order``
    a replica reports its block stored before it started receiving it (a known event in an
    impossible place);
``repeated_write``
    a finished replica starts receiving again (a known event, plausible locally);
``missing_step``
    one replica never reports its block stored (only the *absence* of an event; hard for
    next-event models, which look at what came, not at what should have come).

Ids start at 1, like the DeepLog HDFS files. The benchmark lives in the package so that tests
and the book share it; it is not a stand-in for real data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "ANOMALY_KINDS",
    "ERROR_EVENTS",
    "EVENT_NAMES",
    "SyntheticLogBenchmark",
    "make_block_sessions",
]

EVENT_NAMES: dict[int, str] = {
    1: "allocate block",
    2: "receiving block",
    3: "received packet",
    4: "packet responder terminating",
    5: "received block of size",
    6: "addStoredBlock: blockMap updated",
    7: "verification succeeded",
    8: "served block to client",
    9: "got exception while serving block",
    10: "ask to delete block",
    11: "deleting block file",
    12: "deleted block file",
    13: "ask to replicate block",
    14: "starting thread to transfer block",
    15: "transmitted block",
    16: "received block from transfer",
    17: "ask to invalidate block",
    18: "removed block from neededReplications",
    # never in normal sessions
    19: "exception in receiveBlock",
    20: "write failed: connection reset by peer",
    21: "PacketResponder interrupted",
    22: "unexpected error trying to delete block",
}

#: Ids that only anomalous sessions contain.
ERROR_EVENTS: tuple[int, ...] = (19, 20, 21, 22)

ANOMALY_KINDS: tuple[str, ...] = ("error_event", "out_of_order", "repeated_write", "missing_step")


@dataclass(frozen=True)
class SyntheticLogBenchmark:
    """Sessions with labels: ``labels[i]`` is 1 when session ``i`` is anomalous.

    Attributes
    ----------
    sessions : list of list of int
        Event ids per session.
    labels : numpy.ndarray
        0/1 per session.
    kinds : numpy.ndarray
        ``"normal"`` or the anomaly kind of each session (see :data:`ANOMALY_KINDS`).
    """

    sessions: list[list[int]]
    labels: np.ndarray
    kinds: np.ndarray


def _replica_chain(rng: np.random.Generator) -> list[int]:
    packets = int(rng.integers(1, 4))
    return [2, *([3] * packets), 4, 5, 6]


def _interleave(chains: list[list[int]], rng: np.random.Generator) -> list[int]:
    """Merge chains at random, keeping each chain's own order."""
    owners = np.concatenate([np.full(len(c), i) for i, c in enumerate(chains)])
    rng.shuffle(owners)
    pointers = [0] * len(chains)
    out: list[int] = []
    for o in owners:
        out.append(chains[o][pointers[o]])
        pointers[o] += 1
    return out


def _normal_session(rng: np.random.Generator) -> list[int]:
    n_replicas = 2 if rng.random() < 0.15 else 3
    session = [1, *_interleave([_replica_chain(rng) for _ in range(n_replicas)], rng)]
    if rng.random() < 0.3:
        session.append(7)
    for _ in range(int(rng.poisson(0.8))):
        session.append(8)
        if rng.random() < 0.05:
            session.append(9)
    if rng.random() < 0.04:
        session += [13, 14, 15, 16, 6]
        if rng.random() < 0.5:
            session.append(18)
    if rng.random() < 0.5:
        if rng.random() < 0.1:
            session.append(17)
        session.append(10)
        session += _interleave([[11, 12] for _ in range(n_replicas)], rng)
    return session


def _anomalous_session(rng: np.random.Generator, kind: str) -> list[int]:
    session = _normal_session(rng)
    if kind == "error_event":
        pos = int(rng.integers(1, len(session) + 1))
        return [*session[:pos], int(rng.choice(ERROR_EVENTS)), *session[pos:]]
    if kind == "out_of_order":
        # a "blockMap updated" (6) right after allocation, before any replica received it
        first = session.index(6)
        rest = session[:first] + session[first + 1 :]
        return [rest[0], 6, *rest[1:]]
    if kind == "repeated_write":
        # a replica starts receiving again after every replica has stored the block
        last = len(session) - 1 - session[::-1].index(6)
        return [*session[: last + 1], 2, 3, *session[last + 1 :]]
    if kind == "missing_step":
        # one replica's "blockMap updated" (6) never arrives
        idx = [i for i, e in enumerate(session) if e == 6]
        drop = idx[int(rng.integers(len(idx)))]
        return session[:drop] + session[drop + 1 :]
    raise ValueError(f"kind must be one of {ANOMALY_KINDS}, got {kind!r}")


def make_block_sessions(
    n_normal: int, n_anomalous: int = 0, *, seed: int = 0
) -> SyntheticLogBenchmark:
    """Generate HDFS-like block sessions, normal first, then anomalous ones, then shuffled.

    Parameters
    ----------
    n_normal, n_anomalous
        Numbers of normal and anomalous sessions; anomalous ones cycle through
        :data:`ANOMALY_KINDS` in equal shares.
    seed
        Seed of the generator; the same seed gives the same benchmark.

    Returns
    -------
    SyntheticLogBenchmark
        Sessions (ids 1..22, see :data:`EVENT_NAMES`), labels and kinds.
    """
    for name, value in (("n_normal", n_normal), ("n_anomalous", n_anomalous)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    rng = np.random.default_rng(seed)
    sessions = [_normal_session(rng) for _ in range(n_normal)]
    kinds = ["normal"] * n_normal
    for i in range(n_anomalous):
        kind = ANOMALY_KINDS[i % len(ANOMALY_KINDS)]
        sessions.append(_anomalous_session(rng, kind))
        kinds.append(kind)
    order = rng.permutation(len(sessions))
    kinds_arr = np.asarray(kinds, dtype=object)[order]
    return SyntheticLogBenchmark(
        sessions=[sessions[i] for i in order],
        labels=(kinds_arr != "normal").astype(np.int64),
        kinds=kinds_arr.astype(str),
    )
