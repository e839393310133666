"""Card-transaction fraud: a seeded generator, causal features and the case study's pieces.

The generator makes cardholders with habits (favourite merchants and categories, a usual amount,
active hours, a home country, a purchase rate with a daily and weekly cycle, the occasional trip
abroad) and injects four fraud patterns, each a *case* with a ground-truth id:

* ``card_testing``: a burst of small amounts at online merchants within minutes;
* ``account_takeover``: a spending burst over hours in categories new to the cardholder;
* ``geo_velocity``: a card-present purchase in another country too soon after one at home;
* ``merchant_compromise``: many cards charged at one merchant within a few hours.

Every fraudulent transaction resembles a normal one in each single field (small amounts,
travel abroad, electronics purchases and busy merchants are all normal); what reveals it is the
field *against the cardholder's or the merchant's past*, which :func:`card_features` computes
causally: a transaction's features depend only on earlier transactions.

Public objects: :class:`CardConfig`, :class:`CardData`, :func:`generate_transactions`,
:func:`card_split`, :func:`card_features`, :data:`FEATURES`, :data:`FRAUD_TYPES`,
:func:`check_transactions`, :func:`analyst_rule`, :func:`detector_scores`,
:func:`compare_at_cost`, :func:`decision_tiers`, :func:`business_outcome`, :func:`case_recall`,
:func:`explain_alerts`, :func:`fit_supervised`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import pandas as pd

from anomaly_tutorial.data.splits import DAY_MS, TRAIN_FRACTION, VALIDATION_END_FRACTION, BookSplit
from anomaly_tutorial.stats import mad_scale

HOUR_MS = 3_600_000
MINUTE_MS = 60_000
FRAUD_TYPES: tuple[str, ...] = (
    "card_testing",
    "account_takeover",
    "geo_velocity",
    "merchant_compromise",
)
#: Merchant categories with the log-amount (USD) of a typical purchase and its spread.
CATEGORIES: dict[str, tuple[float, float]] = {
    "grocery": (3.6, 0.6),
    "restaurant": (3.3, 0.5),
    "fuel": (3.7, 0.35),
    "pharmacy": (3.0, 0.6),
    "online_retail": (3.8, 0.9),
    "digital_goods": (2.4, 0.8),
    "entertainment": (3.4, 0.7),
    "travel": (5.8, 0.8),
    "electronics": (5.2, 0.9),
    "jewelry": (5.6, 0.9),
}
#: Categories that are bought online (card not present).
ONLINE_CATEGORIES = frozenset({"online_retail", "digital_goods"})
#: Categories account takeovers buy (resellable goods).
TAKEOVER_CATEGORIES = ("electronics", "jewelry", "digital_goods")
COUNTRIES = ("US", "CA", "GB", "DE", "FR", "MX", "JP")
HOME_COUNTRY_SHARES = (0.78, 0.07, 0.05, 0.04, 0.03, 0.02, 0.01)
COLUMNS = (
    "transaction_id",
    "time",
    "card_id",
    "merchant_id",
    "category",
    "country",
    "home_country",
    "channel",
    "amount",
    "is_fraud",
    "fraud_type",
    "case_id",
)


@dataclass(frozen=True)
class CardConfig:
    """Size, period and fraud mix of :func:`generate_transactions`.

    Parameters
    ----------
    n_cardholders, n_merchants
        Population sizes.
    days
        Length of the period in days, starting at ``start`` (UTC midnight).
    start
        First day, ISO date.
    n_card_testing, n_account_takeover, n_geo_velocity, n_merchant_compromise
        Fraud cases of each type, spread evenly over the period so that every part of a time
        split holds some.
    travel_probability
        Chance that a cardholder takes one trip abroad (legitimate purchases in another country).
    seed
        Seed of the generator (``numpy.random.default_rng``); the same seed gives the same data.
    """

    n_cardholders: int = 600
    n_merchants: int = 400
    days: int = 14
    start: str = "2026-03-02"
    n_card_testing: int = 14
    n_account_takeover: int = 14
    n_geo_velocity: int = 21
    n_merchant_compromise: int = 7
    travel_probability: float = 0.12
    seed: int = 13

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "start":
                try:
                    pd.Timestamp(value)
                except (TypeError, ValueError) as error:
                    raise ValueError(f"start: not an ISO date, got {value!r}") from error
                continue
            if f.name == "travel_probability":
                if not 0.0 <= float(value) <= 1.0:
                    raise ValueError(f"travel_probability: must be in [0, 1], got {value!r}")
                continue
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"{f.name}: must be an integer, got {value!r}")
            minimum = {"n_cardholders": 20, "n_merchants": 30, "days": 3, "seed": 0}.get(f.name, 0)
            if value < minimum:
                raise ValueError(f"{f.name}: must be at least {minimum}, got {value!r}")

    @property
    def start_ms(self) -> int:
        return int(pd.Timestamp(self.start, tz="UTC").value // 1_000_000)

    @property
    def case_counts(self) -> dict[str, int]:
        """Configured number of cases per fraud type."""
        return {t: int(getattr(self, f"n_{t}")) for t in FRAUD_TYPES}


@dataclass(frozen=True)
class CardData:
    """Output of :func:`generate_transactions`.

    Attributes
    ----------
    transactions
        One row per transaction, in time order, columns :data:`COLUMNS`: ``amount`` in USD,
        ``time`` in epoch ms, ``channel`` ``"pos"`` or ``"online"``, ground truth ``is_fraud``,
        ``fraud_type`` (``"none"`` for legitimate ones) and ``case_id`` (-1 for legitimate ones).
    cases
        One row per fraud case: ``case_id``, ``fraud_type``, ``start`` / ``end`` (ms), number
        of transactions, ``amount`` at stake and the cards involved.
    config
        The configuration used.
    """

    transactions: pd.DataFrame
    cases: pd.DataFrame
    config: CardConfig


def _stratified_times(rng: np.random.Generator, n: int, start: int, length: int) -> np.ndarray:
    """``n`` times, one in each of ``n`` equal slices of the period (kept off its edges)."""
    margin = 6 * HOUR_MS
    usable = length - 2 * margin
    slots = (np.arange(n) + rng.uniform(0.05, 0.95, size=n)) / max(n, 1)
    return (start + margin + slots * usable).astype("int64")


def _hour_of_day(rng: np.random.Generator, peak: float, n: int) -> np.ndarray:
    """Hours (float, 0-24) around a cardholder's peak hour; few purchases between 1 and 6 am."""
    hours = rng.normal(peak, 3.0, size=n) % 24
    night = (hours > 1) & (hours < 6)
    hours[night] = rng.normal(peak, 2.0, size=int(night.sum())) % 24
    return hours


def generate_transactions(config: CardConfig | None = None) -> CardData:
    """Card transactions of a seeded population, with fraud cases and ground truth.

    Parameters
    ----------
    config
        Sizes, period, fraud mix and seed; :class:`CardConfig` defaults when omitted.

    Returns
    -------
    CardData

    Notes
    -----
    Amounts are log-normal per category times a per-cardholder factor (heavy right tail);
    purchase times follow each cardholder's active hours with a weekly cycle (fewer purchases
    on Sundays). Legitimate trips abroad make a foreign country alone unremarkable, and busy
    merchants make many cards at one merchant normal: each fraud pattern is visible only
    against the card's or the merchant's own history.
    """
    config = CardConfig() if config is None else config
    if not isinstance(config, CardConfig):
        raise TypeError(f"config: expected a CardConfig, got {type(config).__name__}")
    rng = np.random.default_rng(config.seed)
    start, length = config.start_ms, config.days * DAY_MS
    categories = list(CATEGORIES)

    # Merchants: a category, a country (most at home in the US) and a popularity.
    m_category = rng.choice(
        categories,
        size=config.n_merchants,
        p=[0.2, 0.2, 0.1, 0.07, 0.13, 0.08, 0.08, 0.04, 0.06, 0.04],
    )
    m_country = rng.choice(
        COUNTRIES, size=config.n_merchants, p=[0.6, 0.08, 0.08, 0.07, 0.07, 0.05, 0.05]
    )
    m_country[np.isin(m_category, list(ONLINE_CATEGORIES))] = "US"
    m_popularity = rng.pareto(1.5, size=config.n_merchants) + 1.0
    merchant_ids = np.array([f"m{i:04d}" for i in range(config.n_merchants)])

    rows: list[dict] = []
    for c in range(config.n_cardholders):
        card = f"c{c:05d}"
        home = str(rng.choice(COUNTRIES, p=HOME_COUNTRY_SHARES))
        local = np.flatnonzero((m_country == home) | np.isin(m_category, list(ONLINE_CATEGORIES)))
        weights = m_popularity[local] / m_popularity[local].sum()
        favourites = rng.choice(
            local, size=min(len(local), int(rng.integers(5, 14))), replace=False, p=weights
        )
        # Cardholders rarely buy jewelry or electronics; takeovers do.
        fav_ok = ~np.isin(m_category[favourites], ["jewelry", "electronics"]) | (
            rng.uniform(size=favourites.size) < 0.2
        )
        favourites = favourites[fav_ok] if fav_ok.any() else favourites
        rate = float(np.exp(rng.normal(np.log(2.2), 0.5)))  # purchases per day
        amount_factor = float(np.exp(rng.normal(0.0, 0.45)))
        peak = float(rng.normal(14.0, 3.0))
        trip = None
        if rng.uniform() < config.travel_probability:
            trip_start = start + int(rng.uniform(0, length - 4 * DAY_MS))
            abroad = [x for x in COUNTRIES if x != home]
            trip = (
                trip_start,
                trip_start + int(rng.uniform(2, 4) * DAY_MS),
                str(rng.choice(abroad)),
            )
        for day in range(config.days):
            day_start = start + day * DAY_MS
            weekday = pd.Timestamp(day_start, unit="ms").day_of_week
            factor = {5: 1.15, 6: 0.7}.get(weekday, 1.0)
            n = int(rng.poisson(rate * factor))
            if n == 0:
                continue
            times = day_start + (_hour_of_day(rng, peak, n) * HOUR_MS).astype("int64")
            for t in np.sort(times):
                abroad_now = trip is not None and trip[0] <= t < trip[1]
                if abroad_now:
                    pool = np.flatnonzero(
                        (m_country == trip[2]) & ~np.isin(m_category, list(ONLINE_CATEGORIES))
                    )
                    m = int(rng.choice(pool)) if pool.size else int(rng.choice(favourites))
                elif rng.uniform() < 0.85:
                    m = int(rng.choice(favourites))
                else:
                    m = int(rng.choice(local, p=weights))
                mu, sigma = CATEGORIES[m_category[m]]
                amount = float(np.exp(rng.normal(mu, sigma))) * amount_factor
                rows.append(
                    _row(t, card, merchant_ids[m], m_category[m], m_country[m], home, amount)
                )
    frame = pd.DataFrame(rows)
    cards_home = frame.groupby("card_id")["home_country"].first()
    cards_all = np.array(sorted(cards_home.index))

    # Fraud cases, each placed in its own slice of the period.
    fraud_rows: list[dict] = []
    cases: list[dict] = []
    case_id = 0
    online = np.flatnonzero(np.isin(m_category, list(ONLINE_CATEGORIES)))
    for fraud_type, n_cases in config.case_counts.items():
        for t0 in _stratified_times(rng, n_cases, start, length):
            card = str(rng.choice(cards_all))
            home = str(cards_home[card])
            new: list[dict] = []
            if fraud_type == "card_testing":
                m = int(rng.choice(online))
                k = int(rng.integers(4, 10))
                offsets = np.sort(rng.uniform(0, 25, size=k)) * MINUTE_MS
                for off in offsets:
                    new.append(
                        _row(
                            int(t0 + off),
                            card,
                            merchant_ids[m],
                            m_category[m],
                            m_country[m],
                            home,
                            float(rng.uniform(0.5, 4.0)),
                        )
                    )
            elif fraud_type == "account_takeover":
                k = int(rng.integers(3, 7))
                offsets = np.sort(rng.uniform(0, 8, size=k)) * HOUR_MS
                for off in offsets:
                    cat = str(rng.choice(TAKEOVER_CATEGORIES))
                    pool = np.flatnonzero(m_category == cat)
                    m = int(rng.choice(pool))
                    mu, sigma = CATEGORIES[cat]
                    amount = float(np.exp(rng.normal(mu + 0.5, sigma * 0.6)))
                    new.append(
                        _row(int(t0 + off), card, merchant_ids[m], cat, m_country[m], home, amount)
                    )
            elif fraud_type == "geo_velocity":
                # A home purchase, then a card-present one abroad 20-120 minutes later.
                home_pool = np.flatnonzero(
                    (m_country == home) & ~np.isin(m_category, list(ONLINE_CATEGORIES))
                )
                far_pool = np.flatnonzero(
                    (m_country != home) & ~np.isin(m_category, list(ONLINE_CATEGORIES))
                )
                m_home, m_far = int(rng.choice(home_pool)), int(rng.choice(far_pool))
                m_home_cat = str(m_category[m_home])
                mu, sigma = CATEGORIES[m_home_cat]
                rows.append(
                    _row(
                        int(t0),
                        card,
                        merchant_ids[m_home],
                        m_home_cat,
                        m_country[m_home],
                        home,
                        float(np.exp(rng.normal(mu, sigma))),
                    )
                )
                mu, sigma = CATEGORIES[m_category[m_far]]
                new.append(
                    _row(
                        int(t0 + rng.uniform(20, 120) * MINUTE_MS),
                        card,
                        merchant_ids[m_far],
                        m_category[m_far],
                        m_country[m_far],
                        home,
                        float(np.exp(rng.normal(mu + 0.3, sigma))),
                    )
                )
            else:  # merchant_compromise: many cards at one ordinary merchant within hours
                pool = np.flatnonzero(
                    ~np.isin(m_category, list(ONLINE_CATEGORIES)) & (m_country == "US")
                )
                m = int(rng.choice(pool))
                k = int(rng.integers(10, 18))
                victims = rng.choice(cards_all, size=k, replace=False)
                offsets = np.sort(rng.uniform(0, 4, size=k)) * HOUR_MS
                mu, sigma = CATEGORIES[m_category[m]]
                for victim, off in zip(victims, offsets, strict=True):
                    new.append(
                        _row(
                            int(t0 + off),
                            str(victim),
                            merchant_ids[m],
                            m_category[m],
                            m_country[m],
                            str(cards_home[victim]),
                            float(np.exp(rng.normal(mu + 0.8, sigma))),
                        )
                    )
                card = ",".join(sorted(map(str, victims)))
            for r in new:
                r.update(is_fraud=True, fraud_type=fraud_type, case_id=case_id)
            fraud_rows.extend(new)
            cases.append(
                {
                    "case_id": case_id,
                    "fraud_type": fraud_type,
                    "start": min(r["time"] for r in new),
                    "end": max(r["time"] for r in new),
                    "n_transactions": len(new),
                    "amount": float(sum(r["amount"] for r in new)),
                    "cards": card,
                }
            )
            case_id += 1
    extra = pd.DataFrame(rows[len(frame) :])  # the geo-velocity cases' legitimate home purchases
    frame = pd.concat([frame, extra, pd.DataFrame(fraud_rows)], ignore_index=True)
    frame = frame[(frame["time"] >= start) & (frame["time"] < start + length)]
    frame = frame.sort_values(["time", "card_id"], kind="stable").reset_index(drop=True)
    frame["amount"] = frame["amount"].clip(lower=0.5).round(2)
    frame.insert(0, "transaction_id", [f"tx{i:07d}" for i in range(len(frame))])
    frame["channel"] = np.where(frame["category"].isin(list(ONLINE_CATEGORIES)), "online", "pos")
    frame["is_fraud"] = frame["is_fraud"].astype(bool)
    frame["case_id"] = frame["case_id"].astype("int64")
    return CardData(frame[list(COLUMNS)], pd.DataFrame(cases), config)


def _row(t, card, merchant, category, country, home, amount) -> dict:
    return {
        "time": int(t),
        "card_id": card,
        "merchant_id": str(merchant),
        "category": str(category),
        "country": str(country),
        "home_country": home,
        "amount": float(amount),
        "is_fraud": False,
        "fraud_type": "none",
        "case_id": -1,
    }


def card_split(config: CardConfig | None = None) -> BookSplit:
    """The book's train / validation / test periods for card data (8/14 and 10/14 of the days).

    The same rule as :func:`anomaly_tutorial.data.book_split`, for a :class:`CardConfig`: with
    the default 14 days, train = days 1-8, validation = days 9-10, test = days 11-14.
    """
    config = CardConfig() if config is None else config
    start, days = config.start_ms, config.days
    return BookSplit(
        start,
        start + round(days * TRAIN_FRACTION) * DAY_MS,
        start + round(days * VALIDATION_END_FRACTION) * DAY_MS,
        start + days * DAY_MS,
    )


#: Columns :func:`card_features` returns, with what each measures (for explanations).
FEATURES: dict[str, str] = {
    "log_amount": "log of the amount (USD)",
    "amount_vs_card": "log amount minus the card's median log amount so far",
    "hour_offset": "hours between this purchase and the card's usual hour (circular)",
    "log_gap_s": "log seconds since the card's previous purchase",
    "card_tx_last_hour": "the card's purchases in the previous hour",
    "card_small_last_hour": "the card's purchases under 5 USD in the previous hour",
    "spend_24h_vs_card": "log of the card's spend in the previous 24 h over its usual daily spend",
    "new_merchant": "first purchase of the card at this merchant",
    "category_share": "share of the card's earlier purchases in this category",
    "foreign": "merchant country differs from the card's home country",
    "hours_since_other_country": "hours since the card's last purchase in another country",
    "merchant_cards_vs_usual": "log of the merchant's purchases in the previous 6 h over its usual",
}
REQUIRED = (
    "transaction_id",
    "time",
    "card_id",
    "merchant_id",
    "category",
    "country",
    "home_country",
    "amount",
)
_MAX_HOURS = 72.0
_DEFAULT_LOG_AMOUNT = 3.6  # prior for a card's first purchase (a typical grocery amount)


def check_transactions(transactions: pd.DataFrame) -> pd.DataFrame:
    """Validate a transaction table; a ValueError names the record, the field and the problem."""
    if not isinstance(transactions, pd.DataFrame):
        raise TypeError(
            f"transactions: expected a pandas DataFrame, got {type(transactions).__name__}"
        )
    missing = [c for c in REQUIRED if c not in transactions.columns]
    if missing:
        raise ValueError(f"transactions: missing columns {missing}; needed: {list(REQUIRED)}")
    for column in ("time", "amount"):
        values = pd.to_numeric(transactions[column], errors="coerce").to_numpy(dtype="float64")
        bad = ~np.isfinite(values) | ((values <= 0) if column == "amount" else (values < 0))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            what = "a positive number (USD)" if column == "amount" else "epoch milliseconds >= 0"
            raise ValueError(
                f"transaction {transactions['transaction_id'].iloc[i]!r}: field {column!r} must "
                f"be {what}, got {transactions[column].iloc[i]!r} ({int(bad.sum())} bad rows)"
            )
    for column in ("card_id", "merchant_id", "category", "country", "home_country"):
        bad = transactions[column].isna().to_numpy()
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"transaction {transactions['transaction_id'].iloc[i]!r}: field "
                f"{column!r} is missing ({int(bad.sum())} bad rows)"
            )
    duplicated = transactions["transaction_id"].duplicated()
    if duplicated.any():
        i = int(np.flatnonzero(duplicated.to_numpy())[0])
        raise ValueError(
            f"transaction {transactions['transaction_id'].iloc[i]!r}: field "
            "'transaction_id' is duplicated"
        )
    return transactions


def _window_count(times: np.ndarray, window: int) -> np.ndarray:
    """Earlier rows (same group, sorted times) within ``window`` ms before each row."""
    return np.arange(times.size) - np.searchsorted(times, times - window, side="left")


def card_features(transactions: pd.DataFrame) -> pd.DataFrame:
    """Causal features per transaction: each compares it with the card's and merchant's past.

    Parameters
    ----------
    transactions
        Rows with the columns :data:`REQUIRED` (any order of rows; ties in time are broken by
        ``transaction_id``).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`FEATURES`, indexed like ``transactions``. Nothing is fitted: every value
        is computed from strictly earlier transactions of the same card or merchant (and the row
        itself), so appending or changing later transactions never changes an earlier row.

    Raises
    ------
    ValueError
        A missing column, a missing or non-positive amount, a bad time or a duplicated id; the
        message names the transaction and the field.
    """
    check_transactions(transactions)
    order = np.lexsort((transactions["transaction_id"].to_numpy(), transactions["time"].to_numpy()))
    tx = transactions.iloc[order]
    t = tx["time"].to_numpy(dtype="int64")
    log_amount = np.log(tx["amount"].to_numpy(dtype="float64"))
    hour = (t % DAY_MS) / HOUR_MS
    out = {name: np.zeros(len(tx)) for name in FEATURES}
    out["log_amount"] = log_amount
    out["foreign"] = (tx["country"].to_numpy() != tx["home_country"].to_numpy()).astype(float)
    card_groups = tx.groupby("card_id", sort=False).indices
    for rows in card_groups.values():
        times, la, hrs = t[rows], log_amount[rows], hour[rows]
        previous_median = pd.Series(la).expanding().median().shift(1).to_numpy(copy=True)
        previous_median[0] = _DEFAULT_LOG_AMOUNT
        out["amount_vs_card"][rows] = la - previous_median
        angle = hrs / 24 * 2 * np.pi
        s, c = np.r_[0, np.cumsum(np.sin(angle))[:-1]], np.r_[0, np.cumsum(np.cos(angle))[:-1]]
        usual = np.where((s == 0) & (c == 0), 14.0, (np.arctan2(s, c) / (2 * np.pi) * 24) % 24)
        diff = np.abs(hrs - usual)
        out["hour_offset"][rows] = np.minimum(diff, 24 - diff)
        gaps = np.r_[_MAX_HOURS * 3600, np.diff(times) / 1000.0]
        out["log_gap_s"][rows] = np.log1p(gaps)
        out["card_tx_last_hour"][rows] = _window_count(times, HOUR_MS)
        small = np.cumsum(np.r_[0, (np.exp(la) < 5.0)[:-1]])
        start_hour = np.searchsorted(times, times - HOUR_MS, side="left")
        out["card_small_last_hour"][rows] = small - small[start_hour]
        spent = np.r_[0, np.cumsum(np.exp(la))[:-1]]
        start_day = np.searchsorted(times, times - DAY_MS, side="left")
        elapsed_days = np.maximum((times - times[0]) / DAY_MS, 1.0)
        usual_daily = np.maximum(spent / elapsed_days, 20.0)
        out["spend_24h_vs_card"][rows] = np.log1p((spent - spent[start_day]) / usual_daily)
        countries = tx["country"].to_numpy()[rows]
        last_seen: dict[str, int] = {}
        since = np.full(rows.size, _MAX_HOURS)
        for i, (time, country) in enumerate(zip(times, countries, strict=True)):
            others = [v for k, v in last_seen.items() if k != country]
            if others:
                since[i] = min((time - max(others)) / HOUR_MS, _MAX_HOURS)
            last_seen[country] = time
        out["hours_since_other_country"][rows] = since
    seen = tx.groupby(["card_id", "merchant_id"], sort=False).cumcount().to_numpy()
    out["new_merchant"] = (seen == 0).astype(float)
    in_category = tx.groupby(["card_id", "category"], sort=False).cumcount().to_numpy()
    before = tx.groupby("card_id", sort=False).cumcount().to_numpy()
    out["category_share"] = (in_category + 0.5) / (before + 1.0)
    for rows in tx.groupby("merchant_id", sort=False).indices.values():
        times = t[rows]
        recent = _window_count(times, 6 * HOUR_MS)
        elapsed = np.maximum((times - times[0]) / HOUR_MS, 24.0)
        usual = np.arange(rows.size) / elapsed * 6.0
        out["merchant_cards_vs_usual"][rows] = np.log1p(recent) - np.log1p(usual)
    frame = pd.DataFrame(out, index=tx.index, columns=list(FEATURES), dtype="float64")
    return frame.loc[transactions.index]


def analyst_rule(transactions: pd.DataFrame, features: pd.DataFrame) -> np.ndarray:
    """The rule a fraud analyst writes first: one point per red flag (0-4).

    Flags: an amount over 500 USD, a purchase abroad, three or more purchases of the card in
    the previous hour, and a purchase at a merchant the card never used that is over 200 USD.
    """
    amount = transactions["amount"].to_numpy(dtype="float64")
    return (
        (amount > 500).astype(int)
        + features["foreign"].to_numpy().astype(int)
        + (features["card_tx_last_hour"].to_numpy() >= 3).astype(int)
        + ((features["new_merchant"].to_numpy() > 0) & (amount > 200)).astype(int)
    ).astype("float64")


def decision_tiers(scores: np.ndarray, block: float, review: float, monitor: float) -> np.ndarray:
    """``"block"`` / ``"review"`` / ``"monitor"`` / ``"allow"`` from three score thresholds."""
    if not block >= review >= monitor:
        raise ValueError(
            f"thresholds: need block >= review >= monitor, got {block}, {review}, {monitor}"
        )
    s = np.asarray(scores, dtype="float64")
    return np.select(
        [s >= block, s >= review, s >= monitor], ["block", "review", "monitor"], "allow"
    )


def business_outcome(
    transactions: pd.DataFrame,
    tiers: np.ndarray,
    days: float,
    blocked_customer_cost: float,
    review_cost: float,
) -> dict[str, float]:
    """What the tiers do on a labelled period: money saved, customers bothered, alerts, cases.

    A blocked fraud saves its amount; a review (an analyst calls the customer within the hour)
    is counted as saving the case's later transactions: here, for simplicity, the reviewed
    fraud's own amount is *not* counted as saved. A blocked legitimate purchase costs
    ``blocked_customer_cost``; each review costs ``review_cost`` of analyst time.
    """
    fraud = transactions["is_fraud"].to_numpy(dtype=bool)
    amount = transactions["amount"].to_numpy(dtype="float64")
    tiers = np.asarray(tiers)
    blocked, reviewed = tiers == "block", tiers == "review"
    alerted = blocked | reviewed
    case = transactions["case_id"].to_numpy()
    caught_cases = set(case[alerted & fraud])
    all_cases = set(case[fraud])
    saved = float(amount[blocked & fraud].sum())
    # A case that is alerted is stopped: its transactions after the first alert are saved too.
    t = transactions["time"].to_numpy()
    for c in caught_cases:
        rows = case == c
        first = t[rows & alerted].min()
        saved += float(amount[rows & (t > first) & ~blocked].sum())
    false_blocks = int((blocked & ~fraud).sum())
    cost = blocked_customer_cost * false_blocks + review_cost * int(reviewed.sum())
    return {
        "alerts_per_day": float(alerted.sum()) / days,
        "blocks_per_day": float(blocked.sum()) / days,
        "precision": float((alerted & fraud).sum() / alerted.sum()) if alerted.any() else np.nan,
        "block_precision": float((blocked & fraud).sum() / blocked.sum())
        if blocked.any()
        else np.nan,
        "case_recall": len(caught_cases) / len(all_cases) if all_cases else np.nan,
        "fraud_amount": float(amount[fraud].sum()),
        "money_saved": saved,
        "customers_bothered": int(transactions.loc[blocked & ~fraud, "card_id"].nunique()),
        "false_blocks": false_blocks,
        "cost_of_alerts": float(cost),
        "net_saving": saved - float(cost),
    }


def case_recall(transactions: pd.DataFrame, flags: np.ndarray) -> float:
    """Share of the fraud cases in ``transactions`` with at least one flagged transaction."""
    fraud = transactions["is_fraud"].to_numpy(dtype=bool)
    case = transactions["case_id"].to_numpy()
    cases = set(case[fraud])
    return len(set(case[fraud & np.asarray(flags, dtype=bool)])) / len(cases) if cases else np.nan


def explain_alerts(features: pd.DataFrame, reference: pd.DataFrame, top_k: int = 2) -> pd.Series:
    """In words, the ``top_k`` features farthest from the reference period's median.

    Distances are robust z-scores (median and 1.4826 x MAD of ``reference``, floored at 0.1 of
    the feature's standard deviation, or 1 for a binary feature, so a feature that is nearly
    always the same does not dominate); each explanation names the feature, its value and the
    usual value.
    """
    if top_k < 1:
        raise ValueError(f"top_k: must be at least 1, got {top_k!r}")
    median = reference.median()
    scale = pd.Series(mad_scale(reference.to_numpy(), axis=0), index=reference.columns)
    scale = np.maximum(scale, np.maximum(0.1 * reference.std(), 1e-3))
    scale[reference.nunique() <= 2] = 1.0
    z = (features - median) / scale
    words = []
    for i in range(len(features)):
        top = z.iloc[i].abs().sort_values(ascending=False).index[:top_k]
        words.append(
            "; ".join(
                f"{FEATURES[f]} = {features.iloc[i][f]:.3g} (usual {median[f]:.3g})" for f in top
            )
        )
    return pd.Series(words, index=features.index, name="explanation")


def detector_scores(
    features: pd.DataFrame,
    transactions: pd.DataFrame,
    split: BookSplit,
    detectors: dict[str, object],
) -> pd.DataFrame:
    """Fit each detector on the training period's features and score every transaction.

    Features are robust-scaled (median and 1.4826 x MAD of the training period, floored at
    ``0.1`` so that a nearly constant training column does not explode) before fitting, so that
    distance-based detectors weigh the features alike. Returns one column per detector plus
    ``"analyst rule"``, indexed like ``transactions``.
    """
    period = split.period_of(transactions["time"].to_numpy())
    train = features[period == "train"]
    center = train.median()
    scale = np.maximum(pd.Series(mad_scale(train.to_numpy(), axis=0), index=train.columns), 0.1)
    scaled = ((features - center) / scale).to_numpy()
    scores = {
        name: detector.fit(scaled[period == "train"]).score_samples(scaled)
        for name, detector in detectors.items()
    }
    scores["analyst rule"] = analyst_rule(transactions, features)
    return pd.DataFrame(scores, index=transactions.index)


def compare_at_cost(
    scores: pd.DataFrame,
    transactions: pd.DataFrame,
    split: BookSplit,
    blocked_customer_cost: float,
    miss_cost: float,
) -> pd.DataFrame:
    """Each score column: PR-AUC on validation and test, and the test outcome of blocking.

    For every column an :class:`~anomaly_tutorial.thresholds.ExpectedCost` threshold is chosen
    on the validation period (``blocked_customer_cost`` per blocked legitimate purchase,
    ``miss_cost`` per missed fraudulent one) and applied once to the test period, where every
    alert blocks; the columns of :func:`business_outcome` follow.
    """
    from anomaly_tutorial.evaluate import pr_auc
    from anomaly_tutorial.thresholds import ExpectedCost

    period = split.period_of(transactions["time"].to_numpy())
    y = transactions["is_fraud"].to_numpy(dtype=bool)
    val, test = period == "validation", period == "test"
    rows = {}
    for name in scores.columns:
        s = scores[name].to_numpy(dtype="float64")
        policy = ExpectedCost(blocked_customer_cost, miss_cost).fit(
            s[val], y[val], period_days=split.days["validation"]
        )
        tiers = np.where(policy.predict(s[test]), "block", "allow")
        outcome = business_outcome(
            transactions[test], tiers, split.days["test"], blocked_customer_cost, 0.0
        )
        rows[name] = {
            "validation PR-AUC": pr_auc(y[val], s[val]),
            "test PR-AUC": pr_auc(y[test], s[test]),
            **outcome,
        }
    return pd.DataFrame.from_dict(rows, orient="index")


def fit_supervised(features: pd.DataFrame, labels: np.ndarray, random_state: int = 0):
    """A gradient-boosted tree classifier on labelled transactions, the supervised comparison.

    scikit-learn's ``HistGradientBoostingClassifier`` with default settings, fitted with one
    OpenMP thread: on ten thousand rows it fits in about half a second that way, while its
    default thread pool can spin for many seconds on a busy machine with few cores (measured
    20 s on the book's 2-core machine under load). The model is the same either way.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="openmp"):
        return HistGradientBoostingClassifier(random_state=random_state).fit(
            features, np.asarray(labels, dtype=bool)
        )
