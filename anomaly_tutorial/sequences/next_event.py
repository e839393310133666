"""DeepLog-style next-event detection with an LSTM (Du et al., 2017).

DeepLog treats a log session as a sentence of event (template) ids. An LSTM (Hochreiter and
Schmidhuber, 1997) reads the ``window`` events before each position and outputs a probability
for every event id; trained with cross-entropy on normal sessions only, it learns which events
may come next. At test time a position is *anomalous* when the event that actually came next is
not among the ``top_k`` most probable predictions, and a session is anomalous when any of its
positions is (DeepLog's rule, with ``window = h = 10`` and ``top_k = g = 9`` on HDFS).

What this implementation adds for speed and robustness:

* training uses each distinct ``(window, next event)`` pair once, weighted by how often it
  occurs, which is the same loss as training on every window but many times cheaper on logs,
  where a few session shapes repeat thousands of times;
* scoring removes duplicate sessions, then duplicate windows, runs the network once per
  distinct window in large batches and maps the results back;
* ids are arbitrary integers; an id never seen in training is its own "unknown" index, and a
  position whose true event is unknown is always a miss (the network cannot have predicted it);
* positions with fewer than ``window`` predecessors are left-padded with a dedicated padding
  index, so every event of every session, even a one-event session, is checked;
* training runs through the package's one loop,
  :func:`~anomaly_tutorial.models.loop.fit_module` (seeded inside ``torch.random.fork_rng``,
  deterministic, the global RNG untouched).

:class:`NextEventDetector` has two modes: :meth:`NextEventDetector.deeplog` is the paper's rule
alone; the default adds an end-of-session event, a ``top_k`` chosen on held-out training
sessions, and session checks for length and event counts, because the paper's rule cannot see
sessions that stop early or repeat plausible steps too often (Landauer et al., 2024).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted
from torch import nn

from anomaly_tutorial.models.loop import TrainingHistory, deterministic_training, fit_module
from anomaly_tutorial.sequences.session_detectors import (
    EventCountVectorDetector,
    SessionLengthDetector,
)
from anomaly_tutorial.sequences.windows import (
    N_RESERVED,
    UNK,
    Vocabulary,
    row_keys,
    sliding_windows,
    unique_sequences,
)

__all__ = ["SURPRISE_CAP", "NextEventDetector", "NextEventLSTM", "train_next_event_model"]

#: Largest surprise (``-log p`` in nats) reported for one position; unseen events get it.
SURPRISE_CAP = 50.0

_SCORINGS = ("misses", "miss_fraction", "max_surprise", "mean_surprise", "sum_surprise")


class NextEventLSTM(nn.Module):
    """Embedding, stacked LSTM and a linear layer: window of indices -> next-event logits.

    Parameters
    ----------
    n_tokens
        Size of the input vocabulary (padding and unknown indices included).
    n_outputs
        Number of events that can be predicted.
    embedding_dim, hidden_size, num_layers
        Sizes of the embedding, the LSTM state and the number of stacked LSTM layers.
    """

    def __init__(
        self, n_tokens: int, n_outputs: int, embedding_dim: int, hidden_size: int, num_layers: int
    ) -> None:
        super().__init__()
        self.embedding = nn.Embedding(n_tokens, embedding_dim)
        self.lstm = nn.LSTM(embedding_dim, hidden_size, num_layers=num_layers, batch_first=True)
        self.head = nn.Linear(hidden_size, n_outputs)

    def forward(self, windows: torch.Tensor) -> torch.Tensor:
        """Return ``(batch, n_outputs)`` logits for a ``(batch, window)`` tensor of indices."""
        out, _ = self.lstm(self.embedding(windows))
        return self.head(out[:, -1, :])


def _pair_arrays(
    encoded: list[np.ndarray], session_weights: np.ndarray, window: int, end_index: int | None
) -> dict[str, np.ndarray]:
    """Distinct windows and the (window, next event, count) pairs seen after them.

    Sessions of weight 0 contribute nothing. Returns ``windows`` (distinct), ``context`` (row
    of ``windows`` of each pair, sorted), ``target`` (vocabulary index of the next event) and
    ``weight`` (how often the pair occurred), plus ``n_positions``.
    """
    windows, targets, owner = sliding_windows(encoded, window, end_index=end_index)
    weights = session_weights[owner].astype(np.float64)
    keep = weights > 0
    windows, targets, weights = windows[keep], targets[keep], weights[keep]
    pairs = np.column_stack([windows, targets])
    _, first, inv = np.unique(row_keys(pairs), return_index=True, return_inverse=True)
    pair_weights = np.bincount(inv.ravel(), weights=weights)
    _, ctx_first, ctx_inv = np.unique(
        row_keys(windows[first]), return_index=True, return_inverse=True
    )
    ctx_inv = ctx_inv.ravel()
    by_ctx = np.argsort(ctx_inv, kind="stable")
    return {
        "windows": windows[first][ctx_first],
        "context": ctx_inv[by_ctx],
        "target": targets[first][by_ctx],
        "weight": pair_weights[by_ctx],
        "n_positions": np.array(int(weights.sum())),
        "n_pairs": np.array(int(first.size)),
    }


def train_next_event_model(
    model: nn.Module,
    windows: np.ndarray,
    pair_context: np.ndarray,
    pair_target: np.ndarray,
    pair_weight: np.ndarray,
    *,
    epochs: int,
    batch_size: int,
    lr: float,
    seed: int,
    device: str = "cpu",
    validation: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None,
    patience: int | None = None,
) -> TrainingHistory:
    """Train ``model`` with count-weighted cross-entropy through the package's training loop.

    The training data are given as distinct windows and the (window, next event, count) pairs
    observed after them, so that each distinct window goes through the network once per epoch
    however many continuations and repetitions it has; the loss of a batch is the mean
    cross-entropy over the training positions it stands for. Training runs in
    :func:`~anomaly_tutorial.models.loop.fit_module` (seeded, deterministic, no change to the
    global RNG; with ``validation``, early stopping and the best epoch's weights).

    Parameters
    ----------
    model
        Module mapping a ``(batch, window)`` index tensor to ``(batch, n_outputs)`` logits.
    windows
        ``(n_windows, window)`` distinct input windows.
    pair_context, pair_target, pair_weight
        For each distinct (window, next event) pair: the row of ``windows``, the output index
        of the next event and the number of times the pair occurred. Sorted by
        ``pair_context``.
    epochs, batch_size, lr
        Most passes over the distinct windows, windows per step, and the learning rate.
    seed
        Seed of the shuffling (the weights' initialisation is seeded by the caller, with
        :func:`~anomaly_tutorial.models.loop.deterministic_training`).
    device
        Torch device.
    validation
        ``(windows, pair_context, pair_target, pair_weight)`` of held-out sessions: their
        weighted cross-entropy is the validation loss.
    patience
        Early-stopping patience in epochs (with ``validation``).

    Returns
    -------
    TrainingHistory
        Losses per epoch and the epoch kept.
    """
    if np.any(np.diff(pair_context) < 0):
        raise ValueError("pair_context must be sorted (ascending)")
    n_windows = windows.shape[0]
    indptr = np.searchsorted(pair_context, np.arange(n_windows + 1))
    x_all = torch.as_tensor(windows, dtype=torch.long, device=device)
    y_all = torch.as_tensor(pair_target, dtype=torch.long, device=device)
    w_all = torch.as_tensor(pair_weight, dtype=torch.float32, device=device)
    step = int(batch_size)

    def batches(generator: torch.Generator):
        order = torch.randperm(n_windows, generator=generator).numpy()
        for start in range(0, n_windows, step):
            batch = order[start : start + step]
            counts = indptr[batch + 1] - indptr[batch]
            row = np.repeat(np.arange(batch.size), counts)
            pair = np.repeat(indptr[batch], counts) + (
                np.arange(row.size) - np.repeat(np.cumsum(counts) - counts, counts)
            )
            pair_t = torch.as_tensor(pair, device=device)
            yield (
                x_all[torch.as_tensor(batch, device=device)],
                torch.as_tensor(row, device=device),
                y_all[pair_t],
                w_all[pair_t],
            )

    def loss(module: nn.Module, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
        x, row, target, weight = batch
        log_p = torch.log_softmax(module(x), dim=1)
        return (-log_p[row, target] * weight).sum() / weight.sum()

    validation_loss = None
    if validation is not None:
        v_windows, v_context, v_target, v_weight = validation
        v_x = torch.as_tensor(v_windows, dtype=torch.long, device=device)
        v_row = torch.as_tensor(v_context, dtype=torch.long, device=device)
        v_y = torch.as_tensor(v_target, dtype=torch.long, device=device)
        v_w = torch.as_tensor(v_weight, dtype=torch.float32, device=device)

        def validation_loss(module: nn.Module) -> float:
            log_p = torch.log_softmax(module(v_x), dim=1)
            return float((-log_p[v_row, v_y] * v_w).sum() / v_w.sum())

    return fit_module(
        model,
        batches,
        loss,
        max_epochs=int(epochs),
        seed=int(seed),
        lr=float(lr),
        validation_loss=validation_loss,
        patience=patience,
        description="next-event LSTM",
    )


class NextEventDetector(BaseEstimator):
    """Next-event anomaly detector for sessions of integer event ids, after DeepLog.

    Two modes, both documented and tested:

    * **DeepLog-faithful** (:meth:`deeplog`: ``top_k=9``, ``end_event=False``,
      ``session_checks=False``): a session is anomalous when the true event at one of its
      positions is not among the ``top_k`` most probable predictions, or was never seen in
      training. It judges what came, never what should have come: a session that stops early,
      or repeats a plausible step too often, passes.
    * **Default** (``top_k="auto"``, ``end_event=True``, ``session_checks=True``): the end of a
      session is one more event to predict (a session that stops after an event no normal
      session ends with is a miss), ``top_k`` is chosen on held-out *training* sessions, and
      two session checks learned from the training sessions are added: the length range
      (:class:`~.session_detectors.SessionLengthDetector`) and the event-proportion vector
      (:class:`~.session_detectors.EventCountVectorDetector` with ``normalize=True``, the count
      variant with the best validation results on the OpenStack training folds,
      ``results/openstack/validation.csv``). A session is anomalous when any position misses
      or any check fails.

    Parameters
    ----------
    window : int, default 10
        Number of preceding events the network sees (DeepLog's ``h``).
    top_k : int or "auto", default "auto"
        A position is normal when its true event is among the ``top_k`` most probable
        predictions (DeepLog's ``g``). ``"auto"`` holds out ``validation_fraction`` of the
        training sessions (seeded), trains on the rest with early stopping on their loss, and
        takes the smallest ``top_k`` that flags at most ``validation_fpr`` of the held-out
        sessions; the network is then retrained on every training session for the best
        epoch count. Positions whose true event was never seen in training are misses
        whatever ``top_k`` (even when ``top_k`` exceeds the number of known events).
    embedding_dim : int, default 16
        Size of the learned embedding of each event index.
    hidden_size : int, default 64
        LSTM state size (DeepLog: 64).
    num_layers : int, default 2
        Stacked LSTM layers (DeepLog: 2).
    epochs : int, default 15
        Passes over the distinct training windows (the most, with ``top_k="auto"``).
    batch_size : int, default 256
        Distinct windows per optimisation step.
    lr : float, default 5e-3
        Learning rate.
    end_event : bool, default True
        Also predict an end-of-session event after each session's last event.
    session_checks : bool, default True
        Add the length and count-vector checks described above.
    validation_fraction : float, default 0.2
        Share of the training sessions held out to choose ``top_k`` (``top_k="auto"``).
    validation_fpr : float, default 0.0
        Largest share of held-out normal sessions the chosen ``top_k`` may flag.
    scoring : {"misses", "miss_fraction", "max_surprise", "mean_surprise", "sum_surprise"}, \
default "misses"
        What :meth:`score_samples` returns per session: the number of missed positions; that
        number divided by the session's positions; or the largest / mean / total surprise
        ``-log p(true event)`` over its positions (nats, each capped at :data:`SURPRISE_CAP`,
        which unseen events get). A failed session check counts as one more missed position
        of surprise :data:`SURPRISE_CAP`. :meth:`predict` always flags a session with at least
        one miss, whatever the scoring.
    inference_batch_size : int, default 8192
        Distinct windows per forward pass when scoring.
    seed : int, default 0
        Seed of the weight initialisation, the hold-out draw and the shuffling.
    device : str, default "cpu"
        Torch device.

    Attributes
    ----------
    vocabulary_ : Vocabulary
        Known ids (``vocabulary_.classes``) and their indices.
    model_ : NextEventLSTM
        The trained network.
    top_k_ : int
        The ``top_k`` in force (chosen, or the one given).
    validation_max_ranks_ : numpy.ndarray
        With ``top_k="auto"``: the largest rank of a true event in each held-out session.
    session_checks_ : list of (str, detector)
        The fitted session checks (empty without ``session_checks``).
    history_ : TrainingHistory
        Training losses per epoch of the final network.
    loss_history_ : list of float
        Training loss per epoch (``history_.train_loss``).
    threshold_ : float
        0: :meth:`predict` flags a session with at least one miss.
    n_train_positions_ : int
        Positions (windows) in the training sessions.
    n_train_pairs_ : int
        Distinct (window, next event) pairs in the training sessions.
    n_train_windows_ : int
        Distinct windows, the rows the network sees once per epoch.
    """

    def __init__(
        self,
        window: int = 10,
        top_k: int | Literal["auto"] = "auto",
        *,
        embedding_dim: int = 16,
        hidden_size: int = 64,
        num_layers: int = 2,
        epochs: int = 15,
        batch_size: int = 256,
        lr: float = 5e-3,
        end_event: bool = True,
        session_checks: bool = True,
        validation_fraction: float = 0.2,
        validation_fpr: float = 0.0,
        scoring: Literal[
            "misses", "miss_fraction", "max_surprise", "mean_surprise", "sum_surprise"
        ] = "misses",
        inference_batch_size: int = 8192,
        seed: int = 0,
        device: str = "cpu",
    ) -> None:
        self.window = window
        self.top_k = top_k
        self.embedding_dim = embedding_dim
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.end_event = end_event
        self.session_checks = session_checks
        self.validation_fraction = validation_fraction
        self.validation_fpr = validation_fpr
        self.scoring = scoring
        self.inference_batch_size = inference_batch_size
        self.seed = seed
        self.device = device

    @classmethod
    def deeplog(cls, **params: object) -> NextEventDetector:
        """The DeepLog-faithful configuration (Du et al., 2017), other parameters as given.

        ``window=10``, ``top_k=9``, two LSTM layers of 64 units, no end event, no session
        checks: only the next-event rule of the paper.
        """
        config: dict[str, object] = {
            "window": 10,
            "top_k": 9,
            "hidden_size": 64,
            "num_layers": 2,
            "end_event": False,
            "session_checks": False,
        }
        config.update(params)
        return cls(**config)  # type: ignore[arg-type]

    # --- validation ---------------------------------------------------------------------------
    def _check_params(self) -> None:
        names = ["window", "embedding_dim", "hidden_size", "num_layers", "epochs"]
        names += ["batch_size", "inference_batch_size"]
        if self.top_k != "auto":
            names.append("top_k")
        for name in names:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(
                    f"parameter {name!r} must be a positive integer"
                    + (" or 'auto'" if name == "top_k" else "")
                    + f", got {value!r}"
                )
        if not (isinstance(self.lr, (int, float)) and math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"parameter 'lr' must be a positive number, got {self.lr!r}")
        if self.scoring not in _SCORINGS:
            raise ValueError(
                f"parameter 'scoring' must be one of {_SCORINGS}, got {self.scoring!r}"
            )
        for name, low, high in (("validation_fraction", 0.0, 1.0), ("validation_fpr", 0.0, 1.0)):
            value = getattr(self, name)
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
            zero = name == "validation_fraction" and value == 0
            if not ok or not (low <= value < high) or zero:
                raise ValueError(
                    f"parameter {name!r} must be a number in "
                    f"{'(0, 1)' if name == 'validation_fraction' else '[0, 1)'}, got {value!r}"
                )

    @property
    def _end_index(self) -> int | None:
        return len(self.vocabulary_) if self.end_event else None

    def _output_index(self, index: np.ndarray) -> np.ndarray:
        """Vocabulary index -> output unit (known events and the end event; -1 for unknown)."""
        return np.where(index >= N_RESERVED, index - N_RESERVED, -1)

    # --- fitting --------------------------------------------------------------------------------
    def _new_model(self, seed: int) -> NextEventLSTM:
        extra = 1 if self.end_event else 0
        with deterministic_training(seed):
            model = NextEventLSTM(
                len(self.vocabulary_) + extra,
                self.vocabulary_.classes.size + extra,
                int(self.embedding_dim),
                int(self.hidden_size),
                int(self.num_layers),
            )
        return model.to(self.device)

    def _train(
        self,
        encoded: list[np.ndarray],
        weights: np.ndarray,
        epochs: int,
        held_out: np.ndarray | None = None,
    ) -> tuple[NextEventLSTM, TrainingHistory, dict[str, np.ndarray]]:
        arrays = _pair_arrays(encoded, weights, int(self.window), self._end_index)
        validation = None
        if held_out is not None:
            v = _pair_arrays(encoded, held_out, int(self.window), self._end_index)
            validation = (v["windows"], v["context"], self._output_index(v["target"]), v["weight"])
        model = self._new_model(int(self.seed))
        history = train_next_event_model(
            model,
            arrays["windows"],
            arrays["context"],
            self._output_index(arrays["target"]),
            arrays["weight"],
            epochs=epochs,
            batch_size=int(self.batch_size),
            lr=float(self.lr),
            seed=int(self.seed),
            device=self.device,
            validation=validation,
            patience=3 if validation is not None else None,
        )
        return model, history, arrays

    def _choose_top_k(
        self, uniques: list[np.ndarray], inverse: np.ndarray
    ) -> tuple[int, int, np.ndarray]:
        """Hold out training sessions; return top_k, the epoch count and the held-out ranks."""
        n = inverse.size
        n_held = round(float(self.validation_fraction) * n)
        if n_held < 1 or n - n_held < 1:
            return 1, int(self.epochs), np.zeros(0, dtype=np.int64)
        order = np.random.default_rng(int(self.seed)).permutation(n)
        held, kept = order[:n_held], order[n_held:]
        fit_w = np.bincount(inverse[kept], minlength=len(uniques))
        held_w = np.bincount(inverse[held], minlength=len(uniques))
        encoded = [self.vocabulary_.encode(s) for s in uniques]
        model, history, _ = self._train(encoded, fit_w, int(self.epochs), held_out=held_w)
        seen = np.zeros(len(self.vocabulary_) + 1, dtype=bool)
        seen[np.concatenate([encoded[j] for j in np.flatnonzero(fit_w)])] = True
        if self.end_event:
            seen[self._end_index] = True
        held_unique = np.flatnonzero(held_w)
        owner, ranks, _ = self._unique_position_results(
            [uniques[j] for j in held_unique], model=model
        )
        _, targets, _ = sliding_windows(
            [encoded[j] for j in held_unique], int(self.window), end_index=self._end_index
        )
        # an event the reduced model never saw is a vocabulary effect the refit removes
        usable = seen[targets]
        max_rank = np.full(held_unique.size, -1, dtype=np.int64)
        np.maximum.at(max_rank, owner[usable], ranks[usable])
        per_session = np.repeat(max_rank, held_w[held_unique])
        q = 1.0 - float(self.validation_fpr)
        top_k = int(np.quantile(per_session, q, method="higher")) + 1
        return max(top_k, 1), max(int(history.best_epoch), 1), per_session

    def fit(self, sequences: Sequence[Sequence[int]], y: None = None) -> NextEventDetector:
        """Learn which events follow which windows in (normal) training sessions.

        Parameters
        ----------
        sequences
            Training sessions, each a list of integer event ids.
        y
            Ignored; present for scikit-learn compatibility.

        Returns
        -------
        NextEventDetector
            The fitted detector.
        """
        self._check_params()
        uniques, inverse = unique_sequences(sequences, name="sequences")
        if not any(len(s) for s in uniques):
            raise ValueError("sequences: need at least one non-empty training session")
        self.vocabulary_ = Vocabulary(np.concatenate(uniques))
        epochs = int(self.epochs)
        if self.top_k == "auto":
            self.top_k_, epochs, self.validation_max_ranks_ = self._choose_top_k(uniques, inverse)
        else:
            self.top_k_ = int(self.top_k)
        encoded = [self.vocabulary_.encode(s) for s in uniques]
        weights = np.bincount(inverse, minlength=len(uniques))
        self.model_, self.history_, arrays = self._train(encoded, weights, epochs)
        self.loss_history_ = self.history_.train_loss
        self.n_train_positions_ = int(arrays["n_positions"])
        self.n_train_pairs_ = int(arrays["n_pairs"])
        self.n_train_windows_ = int(arrays["windows"].shape[0])
        self.session_checks_ = []
        if self.session_checks:
            self.session_checks_ = [
                ("length", SessionLengthDetector().fit(sequences)),
                ("event counts", EventCountVectorDetector(normalize=True).fit(sequences)),
            ]
        self.threshold_ = 0.0
        return self

    # --- scoring --------------------------------------------------------------------------------
    def position_results(
        self, sequences: Sequence[Sequence[int]]
    ) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Return, per session, the rank and the surprise of the true event at every position.

        The rank is the number of events the network found more probable than the true one
        (0 = its best guess); a position is a miss when ``rank >= top_k_``. Unknown events get
        the rank of the number of outputs and the surprise :data:`SURPRISE_CAP`, and are
        misses whatever ``top_k_``. With ``end_event=True`` each session has one more
        position, the end of the session.

        Parameters
        ----------
        sequences
            Sessions of integer event ids.

        Returns
        -------
        ranks, surprises : list of numpy.ndarray
            One array per session, one entry per position.
        """
        check_is_fitted(self, "model_")
        uniques, inverse = unique_sequences(sequences, name="sequences")
        owner, ranks, surprises = self._unique_position_results(uniques)
        bounds = np.searchsorted(owner, np.arange(len(uniques) + 1))
        rank_parts = [ranks[bounds[i] : bounds[i + 1]] for i in range(len(uniques))]
        surprise_parts = [surprises[bounds[i] : bounds[i + 1]] for i in range(len(uniques))]
        return [rank_parts[j] for j in inverse], [surprise_parts[j] for j in inverse]

    def _unique_position_results(
        self, uniques: list[np.ndarray], model: nn.Module | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        model = self.model_ if model is None else model
        encoded = [self.vocabulary_.encode(s) for s in uniques]
        windows, targets, owner = sliding_windows(encoded, self.window, end_index=self._end_index)
        out_target = self._output_index(targets)
        n_outputs = model.head.out_features
        ranks = np.full(targets.size, n_outputs, dtype=np.int64)
        surprises = np.full(targets.size, SURPRISE_CAP, dtype=np.float64)
        if targets.size == 0:
            return owner, ranks, surprises
        # distinct windows, and the positions sorted by window so each batch is one slice
        _, ctx_first, ctx_inv = np.unique(row_keys(windows), return_index=True, return_inverse=True)
        ctx_inv = ctx_inv.ravel()
        order = np.argsort(ctx_inv, kind="stable")
        sorted_ctx = ctx_inv[order]
        ctx_windows = torch.as_tensor(windows[ctx_first], dtype=torch.long)
        n_ctx = ctx_first.size
        step = int(self.inference_batch_size)
        with torch.inference_mode():
            for start in range(0, n_ctx, step):
                stop = min(start + step, n_ctx)
                logits = model(ctx_windows[start:stop].to(self.device))
                log_p = torch.log_softmax(logits.double(), dim=1).cpu().numpy()
                lo, hi = np.searchsorted(sorted_ctx, [start, stop])
                pos = order[lo:hi]
                known = out_target[pos] >= 0
                pos = pos[known]
                rows = ctx_inv[pos] - start
                cols = out_target[pos]
                true_lp = log_p[rows, cols]
                ranks[pos] = (log_p[rows] > true_lp[:, None]).sum(axis=1)
                surprises[pos] = np.minimum(-true_lp, SURPRISE_CAP)
        return owner, ranks, surprises

    def _session_stats(self, sequences: Sequence[Sequence[int]]) -> dict[str, np.ndarray]:
        check_is_fitted(self, "model_")
        uniques, inverse = unique_sequences(sequences, name="sequences")
        owner, ranks, surprises = self._unique_position_results(uniques)
        encoded_targets = sliding_windows(
            [self.vocabulary_.encode(s) for s in uniques],
            self.window,
            end_index=self._end_index,
        )[1]
        miss = (ranks >= self.top_k_) | (encoded_targets == UNK)
        n_u = len(uniques)
        failed = np.zeros(n_u)
        for _, check in self.session_checks_:
            failed += check.predict(uniques)
        misses = np.bincount(owner, weights=miss, minlength=n_u) + failed
        positions = np.bincount(owner, minlength=n_u).astype(np.float64) + failed
        max_s = np.where(failed > 0, SURPRISE_CAP, 0.0)
        np.maximum.at(max_s, owner, surprises)
        sum_s = np.bincount(owner, weights=surprises, minlength=n_u) + failed * SURPRISE_CAP
        with np.errstate(invalid="ignore", divide="ignore"):
            frac = np.where(positions > 0, misses / np.maximum(positions, 1), 0.0)
            mean_s = np.where(positions > 0, sum_s / np.maximum(positions, 1), 0.0)
        stats = {
            "misses": misses,
            "miss_fraction": frac,
            "max_surprise": max_s,
            "mean_surprise": mean_s,
            "sum_surprise": sum_s,
        }
        return {k: v[inverse] for k, v in stats.items()}

    def score_samples(self, sequences: Sequence[Sequence[int]]) -> np.ndarray:
        """Return one anomaly score per session (higher = more anomalous), per ``scoring``.

        An empty session has no position and scores 0 (unless ``end_event=True`` or a session
        check fails).

        Parameters
        ----------
        sequences
            Sessions of integer event ids.

        Returns
        -------
        numpy.ndarray
            ``(n_sessions,)`` float scores.
        """
        return self._session_stats(sequences)[self.scoring].astype(np.float64)

    def predict(self, sequences: Sequence[Sequence[int]]) -> np.ndarray:
        """Return 1 for sessions with at least one miss (or failed session check), else 0.

        Parameters
        ----------
        sequences
            Sessions of integer event ids.

        Returns
        -------
        numpy.ndarray
            ``(n_sessions,)`` int64 labels, 1 = anomalous.
        """
        return (self._session_stats(sequences)["misses"] > 0).astype(np.int64)
