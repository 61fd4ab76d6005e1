"""Tool ``campaign_targets``: a response-propensity model trained on past campaign touches.

Training rows are past touches; the label is ``converted``. Every feature is computed
*as of the touch's send time* from data before it, so nothing the model sees could
not have been known when the message went out:
- orders strictly before the send: recency, frequency, spend (log), 90-day spend and
  orders, and recency over the customer's average gap (a cadence ratio);
- earlier touches: how many were sent before; how many converted *before the send*
  (by converted_at); open and click rates over touches sent at least 14 days earlier
  (opens and clicks arrive after a send, so newer touches' outcomes may be unknown).

Validation is out-of-time: fit on the earliest 80 % of touches by send time, score
the latest 20 %, report the ROC AUC and the top-decile lift there; then refit on all
touches to score today's customers. The model is gradient boosting (histograms, NaN
aware) on at most ``MAX_TRAIN`` touches; fitted models and scored bases are cached
per database fingerprint so repeated calls are fast.
"""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from storage.models import CampaignTouch, Customer, Order, StaffUser
from storage.scope import Scope
from tools import model_store
from tools.cadence import revenue_orders, to_day_number
from tools.context import ToolContext
from tools.errors import InvalidArgument
from tools.order_frames import database_key
from tools.read_cache import cached_read
from tools.results import Citation, Column, Table, ToolResult
from tools.targeting_features import load_touches, point_in_time_features

MAX_TRAIN = 120_000
# Bump when features or the estimator change, so fits saved on disk by older code are not reused.
MODEL_VERSION = 1
MIN_TOUCHES = 200
VALIDATION_SHARE = 0.2


class CampaignTargetsParams(BaseModel):
    segment: str | None = Field(
        default=None, description="Only customers in this RFM segment, e.g. 'at risk'."
    )
    tier: str | None = Field(default=None, description="Only this value tier: vip (high), mid or low.")
    size: int = Field(default=50, ge=1, le=5000, description="How many top targets to return.")
    require_consent: bool = Field(default=True, description="Only customers who gave marketing consent.")


class Target(BaseModel):
    rank: int
    customer_id: int
    name: str
    owner: str
    segment: str | None
    tier: str | None
    expected_conversion: float = Field(description="Predicted probability of converting if contacted")


class ModelQuality(BaseModel):
    validation_auc: float
    validation_top_decile_lift: float = Field(
        description="Conversion rate of the top 10% scored / overall, out of time"
    )
    training_touches: int
    validation_touches: int
    base_rate: float


class CampaignTargetsResult(ToolResult):
    targets: list[Target]
    eligible: int
    expected_conversions: float = Field(
        description="Sum of predicted probabilities over the returned targets"
    )
    random_expected_conversions: float = Field(
        description="Expected conversions of as many random eligible customers"
    )
    expected_lift: float | None = Field(description="expected_conversions / random_expected_conversions")
    model: ModelQuality


class _Model(BaseModel):
    model_config = {"arbitrary_types_allowed": True}

    estimator: object
    quality: ModelQuality
    base: pd.DataFrame  # scored customers: customer_id, expected_conversion


_CACHE: dict[tuple, _Model] = {}
_LOCK = threading.Lock()


def _fingerprint(ctx: ToolContext) -> tuple:
    # Max ids only: index probes, cheap on every call; appends (new touches, orders) retrain.
    with ctx.engine.connect() as conn:
        touch_id = conn.execute(select(func.max(CampaignTouch.id))).scalar()
        order_id = conn.execute(select(func.max(Order.id))).scalar()
    # Features are whole days (``to_day_number``), so the day is the finest "now" that changes a fit.
    return (str(ctx.engine.url), ctx.now.date(), touch_id, order_id)


def _customer_fingerprint(ctx: ToolContext) -> tuple:
    # Writers bump customer.updated_at (indexed), so an owner or consent change shows here.
    with ctx.engine.connect() as conn:
        # One aggregate per statement: SQLite answers a lone max() from the index, but scans for two.
        last_id = conn.execute(select(func.max(Customer.id))).scalar()
        updated = conn.execute(select(func.max(Customer.updated_at))).scalar()
    return (*_fingerprint(ctx), last_id, updated)


def propensity_model(ctx: ToolContext) -> _Model:
    """The fitted model and today's scores for every customer; cached per data fingerprint.

    Cached in memory and on disk (``model_store``), so a new process (a CLI call, a restarted
    server) loads the fit in milliseconds instead of retraining for tens of seconds.
    """
    key = _fingerprint(ctx)
    with _LOCK:
        if key in _CACHE:
            return _CACHE[key]
    disk_key = model_store.cache_key(MODEL_VERSION, database_key(ctx.engine), *key[1:])
    model = model_store.load("targeting", disk_key)
    if model is None:
        model = _fit(ctx)
        model_store.save("targeting", disk_key, model)
    with _LOCK:
        _CACHE.clear()  # one live model per process is enough; older fingerprints are stale
        _CACHE[key] = model
    return model


_BASES: dict[tuple, pd.DataFrame] = {}


def scored_customers(ctx: ToolContext) -> pd.DataFrame:
    """Every customer with name, owner, consent, segment, tier and score; cached per data fingerprint.

    Callers narrow it to their scope with ``_in_scope``, which applies the scope's own rule
    (``Scope.allows_owner``), so the shared cache never widens what a caller sees.
    """
    key = _customer_fingerprint(ctx)
    with _LOCK:
        if key in _BASES:
            return _BASES[key]
    model = propensity_model(ctx)
    with ctx.engine.connect() as conn:
        people = pd.DataFrame(
            conn.execute(
                select(Customer.id, Customer.name, Customer.owner_id, Customer.marketing_consent)
            ).all(),
            columns=["customer_id", "name", "owner_id", "consent"],
        )
    base = people.merge(model.base, on="customer_id").merge(_segments(ctx), on="customer_id", how="left")
    base["consent"] = base["consent"].astype(bool)
    with _LOCK:
        _BASES.clear()
        _BASES[key] = base
    return base


def _in_scope(ctx: ToolContext, owners: pd.Series) -> pd.Series:
    if ctx.scope.all_customers:
        return pd.Series(True, index=owners.index)
    values = owners.astype("Int64")
    allowed = [int(o) for o in values.dropna().unique() if ctx.scope.allows_owner(int(o))]
    in_book = values.isin(allowed).fillna(False).astype(bool)
    return in_book | (values.isna() & ctx.scope.allows_owner(None))


def _fit(ctx: ToolContext) -> _Model:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score
    from threadpoolctl import threadpool_limits

    touches = load_touches(ctx.engine, now=ctx.now)
    if len(touches) < MIN_TOUCHES or touches["converted"].nunique() < 2:
        raise InvalidArgument(
            f"not enough campaign history to train a response model ({len(touches)} touches; need {MIN_TOUCHES} with some conversions)"
        )
    orders = revenue_orders(ctx.engine, now=ctx.now)
    train = touches.sample(n=min(len(touches), MAX_TRAIN), random_state=0).sort_values("sent", kind="stable")
    x = point_in_time_features(train[["customer_id"]].assign(t=train["sent"].to_numpy()), orders, touches)
    y = train["converted"].astype(int).to_numpy()
    cut = int(len(train) * (1 - VALIDATION_SHARE))

    def make():
        return HistGradientBoostingClassifier(
            max_iter=150, learning_rate=0.08, max_leaf_nodes=15, l2_regularization=1.0, random_state=0
        )

    with threadpool_limits(1):
        valid_p = make().fit(x.iloc[:cut], y[:cut]).predict_proba(x.iloc[cut:])[:, 1]
        y_valid = y[cut:]
        auc = float(roc_auc_score(y_valid, valid_p)) if len(set(y_valid)) == 2 else float("nan")
        top = valid_p >= np.quantile(valid_p, 0.9)
        lift = float(y_valid[top].mean() / y_valid.mean()) if y_valid.mean() > 0 else float("nan")
        estimator = make().fit(x, y)
        now_day = to_day_number(ctx.now)
        everyone = _all_customer_ids(ctx)
        events = pd.DataFrame({"customer_id": everyone, "t": now_day})
        scores = estimator.predict_proba(point_in_time_features(events, orders, touches))[:, 1]
    quality = ModelQuality(
        validation_auc=round(auc, 4),
        validation_top_decile_lift=round(lift, 3),
        training_touches=cut,
        validation_touches=len(train) - cut,
        base_rate=round(float(y.mean()), 5),
    )
    base = pd.DataFrame({"customer_id": everyone, "expected_conversion": scores})
    return _Model(estimator=estimator, quality=quality, base=base)


def _all_customer_ids(ctx: ToolContext) -> np.ndarray:
    with ctx.engine.connect() as conn:
        return np.array(
            conn.execute(select(Customer.id).order_by(Customer.id)).scalars().all(), dtype="int64"
        )


def campaign_targets(params: CampaignTargetsParams, *, ctx: ToolContext) -> CampaignTargetsResult:
    """Who to target in a new marketing campaign: ranks customers in the caller's scope by their
    predicted probability of converting if contacted, from a response-propensity model trained on
    past campaign touches (features as of each send: recency, frequency, spend, 90-day activity,
    cadence, earlier campaign responses). Returns the top targets with expected conversion, the
    expected conversions versus contacting the same number of random eligible customers (lift), and
    the model's out-of-time validation AUC. Filters: segment, tier, consent. Use for "who should get
    the next campaign", "best 200 customers to email". Not for past campaign results (use
    campaign_performance)."""
    return cached_read(
        ctx,
        "campaign_targets",
        (params.model_dump_json(), ctx.now.replace(second=0, microsecond=0)),
        lambda: _campaign_targets(params, ctx=ctx),
    ).model_copy(deep=True)


def _campaign_targets(params: CampaignTargetsParams, *, ctx: ToolContext) -> CampaignTargetsResult:
    from tools.rfm import normalize_segment, normalize_tier

    segment = normalize_segment(params.segment) if params.segment else None
    tier = normalize_tier(params.tier) if params.tier else None
    model = propensity_model(ctx)
    base = scored_customers(ctx)
    keep = _in_scope(ctx, base["owner_id"])
    if params.require_consent:
        keep &= base["consent"]
    if segment:
        keep &= base["rfm_segment"] == segment
    if tier:
        keep &= base["value_tier"] == tier
    pool = base[keep]
    top = pool.nlargest(params.size, "expected_conversion")
    return _result(ctx, params, model=model, pool=pool, top=top)


def _segments(ctx: ToolContext) -> pd.DataFrame:
    from tools.feature_source import fresh_snapshot, snapshot_frame

    if fresh_snapshot(ctx) is not None:
        return snapshot_frame(
            ctx.model_copy(update={"scope": Scope.everything()}), columns=["rfm_segment", "value_tier"]
        )
    from tools.rfm import compute_rfm

    return compute_rfm(ctx.engine, now=ctx.now, clusters=False)[["customer_id", "rfm_segment", "value_tier"]]


_COLUMNS = [
    Column(key="rank", label="#", kind="int"),
    Column(key="name", label="Customer", label_zh="客户"),
    Column(key="owner", label="Owner", label_zh="负责人"),
    Column(key="segment", label="Segment", label_zh="分群"),
    Column(key="tier", label="Tier", label_zh="价值层级"),
    Column(key="expected_conversion", label="Expected conversion", label_zh="预计转化率", kind="pct"),
]


def _result(
    ctx: ToolContext, params, *, model: _Model, pool: pd.DataFrame, top: pd.DataFrame
) -> CampaignTargetsResult:
    owner_ids = {int(o) for o in top["owner_id"].dropna()}
    with ctx.engine.connect() as conn:
        owners = (
            dict(conn.execute(select(StaffUser.id, StaffUser.name).where(StaffUser.id.in_(owner_ids))).all())
            if owner_ids
            else {}
        )
    targets = [
        Target(
            rank=i + 1,
            customer_id=int(r.customer_id),
            name=r.name,
            owner=owners.get(int(r.owner_id), "?") if pd.notna(r.owner_id) else "public pool",
            segment=r.rfm_segment if isinstance(r.rfm_segment, str) else None,
            tier=r.value_tier if isinstance(r.value_tier, str) else None,
            expected_conversion=round(float(r.expected_conversion), 4),
        )
        for i, r in enumerate(top.itertuples())
    ]
    expected = float(top["expected_conversion"].sum())
    random_expected = float(pool["expected_conversion"].mean() * len(top)) if len(pool) else 0.0
    lift = expected / random_expected if random_expected > 0 else None
    q = model.quality
    lift_text = f"{lift:.2f}x" if lift else "n/a"
    summary = (
        f"Top {len(targets)} of {len(pool):,} eligible customers: expected {expected:.1f} conversions vs "
        f"{random_expected:.1f} for random targeting (lift {lift_text}). Model validation AUC {q.validation_auc:.3f} "
        f"(out of time, {q.validation_touches:,} touches; top-decile lift {q.validation_top_decile_lift:.2f}x)."
    )
    summary_zh = (
        f"在 {len(pool):,} 位符合条件的客户中选出前 {len(targets)} 位：预计转化 {expected:.1f} 人，随机选择约 "
        f"{random_expected:.1f} 人（提升 {lift_text}）。模型跨时间验证 AUC {q.validation_auc:.3f}。"
    )
    return CampaignTargetsResult(
        summary=summary,
        summary_zh=summary_zh,
        table=Table.from_records(_COLUMNS, targets),
        citations=[Citation(kind="customer", id=t.customer_id, label=t.name) for t in targets[:50]],
        targets=targets,
        eligible=len(pool),
        expected_conversions=round(expected, 3),
        random_expected_conversions=round(random_expected, 3),
        expected_lift=round(lift, 3) if lift else None,
        model=q,
    )
