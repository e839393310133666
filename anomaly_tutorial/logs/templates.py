"""A small Drain-style log template miner.

Drain (He et al., 2017) groups log lines into *templates*: the constant text of the ``printf``
call that wrote the line, with the variable parts replaced by a wildcard ``<*>``. It does so
online, in one pass, with a fixed-depth parse tree:

1. **Masking.** Regular expressions first replace values that are obviously variable (IP
   addresses, hexadecimal ids, UUIDs, numbers) by ``<*>``. They are applied to each
   whitespace-separated token (so a mask never spans a space), which lets the miner cache
   the masked form of tokens that repeat.
2. **Tree search.** The masked line is split on whitespace. The first tree level is keyed by the
   number of tokens, the next ``depth - 2`` levels by the leading tokens (a token that contains a
   digit goes to the ``<*>`` branch, as does any token once a node has ``max_children``
   children). The leaf holds a short list of templates ("clusters").
3. **Similarity.** Among the leaf's templates, the line joins the most similar one when the
   similarity reaches ``sim_threshold``; the template is then generalised (positions that differ
   become ``<*>``). Otherwise the line starts a new template.

This implementation follows that recipe with two explicit choices:

* *Similarity* is Drain's: the fraction of positions where the template token equals the line
  token; wildcard positions of the template do not count as equal, and ties go to the template
  with more wildcards. Before that, a template that *fits* the line exactly (every
  non-wildcard token equal) is preferred; among several, the one with the fewest wildcards wins.
  Without that rule a heavily generalised template could fail to absorb a line it describes.
* *Template ids* are integers ``0, 1, 2, ...`` in order of creation, so the same lines in the
  same order always give the same ids, and generalising a template never changes its id.

:meth:`TemplateMiner.match` returns the id that :meth:`TemplateMiner.add` would assign *without
changing the miner*, or :data:`UNSEEN_TEMPLATE` when ``add`` would have created a new template.
That is how lines of a later period are mapped onto the templates mined on a training period.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

#: Template id returned for a line that fits none of the mined templates.
UNSEEN_TEMPLATE = -1

_TOKEN_CACHE_SIZE = 200_000

#: The wildcard token that stands for a variable part.
WILDCARD = "<*>"

#: Default masks, applied in this order. Each pair is (regular expression, replacement).
DEFAULT_MASKS: tuple[tuple[str, str], ...] = (
    # IPv4 address with an optional port
    (r"(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?::\d{1,5})?(?![\w.])", WILDCARD),
    # UUID
    (r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b", WILDCARD),
    # 0x-prefixed hexadecimal
    (r"\b0[xX][0-9a-fA-F]+\b", WILDCARD),
    # long hexadecimal ids (8+ hex digits with at least one digit), e.g. trace or request ids
    (r"\b(?=[0-9a-fA-F]*\d)[0-9a-fA-F]{8,}\b", WILDCARD),
    # numbers not glued to a preceding letter or digit (so "u0042" stays, "123ms" -> "<*>ms")
    (r"(?<![A-Za-z0-9])[-+]?\d+(?:\.\d+)?", WILDCARD),
)


@dataclass
class _Cluster:
    template_id: int
    tokens: list[str]
    size: int = 1

    @property
    def n_wildcards(self) -> int:
        return sum(token == WILDCARD for token in self.tokens)


@dataclass
class _Node:
    children: dict[str, _Node] = field(default_factory=dict)
    clusters: list[_Cluster] = field(default_factory=list)


_DIGIT = re.compile(r"\d")


def _has_digit(token: str) -> bool:
    return _DIGIT.search(token) is not None


class TemplateMiner(BaseEstimator):
    """Drain-style log template miner with deterministic template ids.

    Parameters
    ----------
    depth : int, default 4
        Depth of the parse tree including the root and the token-count level; lines are routed by
        their first ``depth - 2`` tokens. Must be at least 3.
    sim_threshold : float, default 0.5
        Minimal similarity (fraction of equal tokens) for a line to join an existing template.
    max_children : int, default 100
        Maximal number of children of an internal node; further tokens share the ``<*>`` child.
    masks : sequence of (pattern, replacement) or None, default None
        Regular expressions applied to each whitespace-separated token, in order; ``None`` uses
        :data:`DEFAULT_MASKS`, an empty tuple disables masking. Replacements must not contain
        whitespace.
    line_masks : sequence of (pattern, replacement), default ()
        Regular expressions applied to the whole line before it is split, for variable fields
        that contain spaces (for example a quoted user agent: ``(r'ua="[^"]*"', "ua=<*>")``).
        Slower than token masks (no caching), so use them only where needed.

    Attributes
    ----------
    templates_ : dict[int, str]
        Template id -> template text (tokens joined by one space).
    counts_ : dict[int, int]
        Template id -> number of lines that joined the template while mining.
    n_lines_ : int
        Number of lines mined.

    Examples
    --------
    >>> miner = TemplateMiner().fit(["Failed password for u1 from 10.0.0.1 port 22",
    ...                              "Failed password for u2 from 10.0.0.9 port 5122"])
    >>> miner.templates_[0]
    'Failed password for <*> from <*> port <*>'
    >>> miner.match("Failed password for u3 from 10.1.1.1 port 80")
    0
    >>> miner.match("disk full")
    -1
    """

    def __init__(
        self,
        depth: int = 4,
        sim_threshold: float = 0.5,
        max_children: int = 100,
        masks: Sequence[tuple[str, str]] | None = None,
        line_masks: Sequence[tuple[str, str]] = (),
    ) -> None:
        self.depth = depth
        self.sim_threshold = sim_threshold
        self.max_children = max_children
        self.masks = masks
        self.line_masks = line_masks

    # --- set-up --------------------------------------------------------------------------
    def _validate_params(self) -> None:
        if not isinstance(self.depth, int | np.integer) or self.depth < 3:
            raise ValueError(f"depth must be an integer >= 3, got {self.depth!r}")
        if not 0.0 < float(self.sim_threshold) <= 1.0:
            raise ValueError(f"sim_threshold must be in (0, 1], got {self.sim_threshold!r}")
        if not isinstance(self.max_children, int | np.integer) or self.max_children < 1:
            raise ValueError(f"max_children must be a positive integer, got {self.max_children!r}")

    def _compiled_masks(self) -> list[tuple[re.Pattern[str], str]]:
        masks = DEFAULT_MASKS if self.masks is None else self.masks
        compiled = _compile_pairs(masks, "masks")
        if (
            len(compiled) > 1
            and len({r for _, r in compiled}) == 1
            and not any(p.groups for p, _ in compiled)
        ):
            # same replacement everywhere: one pass with the alternatives in mask order (at each
            # position the first mask that matches wins, as when applying them one by one)
            combined = "|".join(f"(?:{p.pattern})" for p, _ in compiled)
            compiled = [(re.compile(combined), compiled[0][1])]
        return compiled

    def _reset(self) -> None:
        self._validate_params()
        self._masks = self._compiled_masks()
        self._line_masks = _compile_pairs(self.line_masks, "line_masks")
        self._token_cache: dict[str, str] = {}
        self._root = _Node()
        self._clusters: list[_Cluster] = []
        self.templates_: dict[int, str] = {}
        self.counts_: dict[int, int] = {}
        self.n_lines_ = 0

    def _check_fitted(self) -> None:
        if not hasattr(self, "templates_"):
            raise RuntimeError(
                "this TemplateMiner has mined no lines yet: call fit(lines) or add(line) first"
            )

    # --- preprocessing -----------------------------------------------------------------------
    def _mask_token(self, token: str) -> str:
        cache = self.__dict__.setdefault("_token_cache", {})
        masked = cache.get(token)
        if masked is None:
            if "_masks" not in self.__dict__:
                self._masks = self._compiled_masks()
            masked = token
            for pattern, replacement in self._masks:
                masked = pattern.sub(replacement, masked)
            if len(cache) >= _TOKEN_CACHE_SIZE:
                cache.clear()
            cache[token] = masked
        return masked

    def tokenize(self, line: str) -> list[str]:
        """Apply the line masks, split on whitespace and mask each token."""
        if not isinstance(line, str):
            raise TypeError(f"log lines must be str, got {type(line).__name__}: {line!r}")
        if "_line_masks" not in self.__dict__:
            self._line_masks = _compile_pairs(self.line_masks, "line_masks")
        for pattern, replacement in self._line_masks:
            line = pattern.sub(replacement, line)
        return [self._mask_token(t) for t in line.split()]

    def mask(self, line: str) -> str:
        """Return ``line`` masked token by token, tokens joined by single spaces."""
        return " ".join(self.tokenize(line))

    # --- tree search ---------------------------------------------------------------------------
    def _leaf(self, tokens: list[str], create: bool) -> _Node | None:
        node = self._root.children.get(str(len(tokens)))
        if node is None:
            if not create:
                return None
            node = self._root.children.setdefault(str(len(tokens)), _Node())
        for token in tokens[: self.depth - 2]:
            key = WILDCARD if _has_digit(token) else token
            child = node.children.get(key)
            if child is None:
                n_regular = len(node.children) - (WILDCARD in node.children)
                if key != WILDCARD and n_regular >= self.max_children - 1:
                    key = WILDCARD  # node full: one slot stays reserved for the wildcard branch
                    child = node.children.get(key)
            if child is None:
                if not create:
                    return None
                child = node.children[key] = _Node()
            node = child
        return node

    def _best_cluster(self, leaf: _Node, tokens: list[str]) -> _Cluster | None:
        fitting = [
            c
            for c in leaf.clusters
            if all(t == WILDCARD or t == u for t, u in zip(c.tokens, tokens, strict=True))
        ]
        if fitting:
            return min(fitting, key=lambda c: (c.n_wildcards, c.template_id))
        best, best_key = None, (-1.0, -1)
        n = len(tokens)
        for c in leaf.clusters:
            same = sum(t == u for t, u in zip(c.tokens, tokens, strict=True) if t != WILDCARD)
            sim = same / n if n else 1.0
            key = (sim, c.n_wildcards)
            if key > best_key:
                best, best_key = c, key
        if best is not None and best_key[0] >= self.sim_threshold:
            return best
        return None

    # --- public API ------------------------------------------------------------------------------
    def fit(self, lines: Iterable[str], y: object = None) -> TemplateMiner:
        """Forget previous templates and mine ``lines`` in order."""
        self._reset()
        for line in _as_lines(lines, "lines"):
            self.add(line)
        return self

    def add(self, line: str) -> int:
        """Mine one line: join (and generalise) a template or create one; return its id."""
        if not hasattr(self, "templates_"):
            self._reset()
        tokens = self.tokenize(line)
        leaf = self._leaf(tokens, create=True)
        assert leaf is not None
        cluster = self._best_cluster(leaf, tokens)
        self.n_lines_ += 1
        if cluster is None:
            cluster = _Cluster(template_id=len(self._clusters), tokens=list(tokens))
            self._clusters.append(cluster)
            leaf.clusters.append(cluster)
        else:
            cluster.tokens = [
                t if t == u else WILDCARD for t, u in zip(cluster.tokens, tokens, strict=True)
            ]
            cluster.size += 1
        self.templates_[cluster.template_id] = " ".join(cluster.tokens)
        self.counts_[cluster.template_id] = cluster.size
        return cluster.template_id

    def match(self, line: str) -> int:
        """Return the id ``add(line)`` would give, without changing the miner.

        Returns :data:`UNSEEN_TEMPLATE` when no mined template is close enough, i.e. when
        ``add`` would have created a new template.
        """
        self._check_fitted()
        return self._match_tokens(self.tokenize(line))

    def _match_tokens(self, tokens: list[str]) -> int:
        leaf = self._leaf(tokens, create=False)
        if leaf is None:
            return UNSEEN_TEMPLATE
        cluster = self._best_cluster(leaf, tokens)
        return UNSEEN_TEMPLATE if cluster is None else cluster.template_id

    def transform(self, lines: Iterable[str]) -> np.ndarray:
        """Template id of every line (see :meth:`match`), as an int64 array."""
        self._check_fitted()
        lines = _as_lines(lines, "lines")
        cache: dict[str, int] = {}
        out = np.empty(len(lines), dtype=np.int64)
        for i, line in enumerate(lines):
            tokens = self.tokenize(line)
            key = " ".join(tokens)
            tid = cache.get(key)
            if tid is None:
                tid = cache[key] = self._match_tokens(tokens)
            out[i] = tid
        return out

    def fit_transform(self, lines: Iterable[str], y: object = None) -> np.ndarray:
        """Mine ``lines``, then map each onto its *final* template (ids as in :meth:`transform`)."""
        lines = _as_lines(lines, "lines")
        return self.fit(lines).transform(lines)

    def template_table(self) -> pd.DataFrame:
        """Templates as a frame: template_id, template, count (sorted by id)."""
        self._check_fitted()
        ids = sorted(self.templates_)
        return pd.DataFrame(
            {
                "template_id": np.asarray(ids, dtype=np.int64),
                "template": [self.templates_[i] for i in ids],
                "count": np.asarray([self.counts_[i] for i in ids], dtype=np.int64),
            }
        )


def _compile_pairs(
    pairs: Sequence[tuple[str, str]], name: str
) -> list[tuple[re.Pattern[str], str]]:
    compiled = []
    for i, pair in enumerate(pairs):
        if isinstance(pair, str) or len(pair) != 2:
            raise ValueError(f"{name}[{i}] must be a (pattern, replacement) pair, got {pair!r}")
        pattern, replacement = pair
        if not str(replacement) or any(ch.isspace() for ch in str(replacement)):
            raise ValueError(
                f"{name}[{i}]: replacement {replacement!r} must be non-empty without whitespace"
            )
        try:
            compiled.append((re.compile(pattern), str(replacement)))
        except re.error as err:
            msg = f"{name}[{i}]: invalid regular expression {pattern!r}: {err}"
            raise ValueError(msg) from err
    return compiled


def _as_lines(lines: Iterable[str], name: str) -> list[str]:
    if isinstance(lines, str):
        raise TypeError(f"{name} must be an iterable of str, not a single str")
    if isinstance(lines, pd.Series):
        missing = np.flatnonzero(lines.isna().to_numpy())
        if missing.size:
            raise ValueError(
                f"{name}: {missing.size} values are missing (positions {missing[:5].tolist()})"
            )
    out = list(lines)
    bad = [i for i, line in enumerate(out) if not isinstance(line, str)]
    if bad:
        raise TypeError(
            f"{name}: {len(bad)} values are not str (positions {bad[:5]}, "
            f"first is {type(out[bad[0]]).__name__})"
        )
    return out


def grouping_accuracy(true_groups: Sequence[object], pred_groups: Sequence[object]) -> float:
    """Grouping accuracy of a log parser (Zhu et al., 2019).

    A line counts as correctly parsed when the set of lines sharing its predicted template is
    exactly the set of lines sharing its true template. Returns the fraction of such lines.
    """
    true_arr, pred_arr = _paired(true_groups, pred_groups)
    frame = pd.DataFrame({"true": pd.factorize(true_arr)[0], "pred": pd.factorize(pred_arr)[0]})
    n_pred_per_true = frame.groupby("true")["pred"].nunique()
    n_true_per_pred = frame.groupby("pred")["true"].nunique()
    ok = (frame["true"].map(n_pred_per_true) == 1) & (frame["pred"].map(n_true_per_pred) == 1)
    return float(ok.mean())


def pairwise_f1(true_groups: Sequence[object], pred_groups: Sequence[object]) -> float:
    """F1 over pairs of lines: a pair is positive when both lines share a template."""
    true_arr, pred_arr = _paired(true_groups, pred_groups)
    t = pd.factorize(true_arr)[0]
    p = pd.factorize(pred_arr)[0]
    both = pd.crosstab(t, p).to_numpy().astype(np.float64)
    pairs_both = float((both * (both - 1) / 2).sum())
    true_sizes = np.bincount(t).astype(np.float64)
    pred_sizes = np.bincount(p).astype(np.float64)
    pairs_true = float((true_sizes * (true_sizes - 1) / 2).sum())
    pairs_pred = float((pred_sizes * (pred_sizes - 1) / 2).sum())
    if pairs_true == 0 and pairs_pred == 0:
        return 1.0
    precision = pairs_both / pairs_pred if pairs_pred else 0.0
    recall = pairs_both / pairs_true if pairs_true else 0.0
    if precision + recall == 0:
        return 0.0
    return 2 * precision * recall / (precision + recall)


def _paired(a: Sequence[object], b: Sequence[object]) -> tuple[np.ndarray, np.ndarray]:
    a_arr = np.asarray(list(a), dtype=object)
    b_arr = np.asarray(list(b), dtype=object)
    if a_arr.shape != b_arr.shape:
        raise ValueError(
            f"true_groups and pred_groups must have the same length, got {a_arr.size} and "
            f"{b_arr.size}"
        )
    if a_arr.size == 0:
        raise ValueError("true_groups and pred_groups are empty")
    return a_arr, b_arr
