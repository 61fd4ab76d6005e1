"""The CRM data model: one SQLModel entity family per table (Base → Create/Update → table → Public)."""

from storage.models.alerts import (
    SCHEDULER_JOB_TABLE,
    AlertDelivery,
    AlertRecord,
    ChurnScoreSeen,
    ReportSchedule,
)
from storage.models.campaign import (
    Campaign,
    CampaignCreate,
    CampaignPublic,
    CampaignTouch,
    CampaignTouchPublic,
)
from storage.models.customer import Customer, CustomerCreate, CustomerPublic, CustomerTag, CustomerUpdate
from storage.models.enums import (
    NON_REVENUE_STATUSES,
    Direction,
    InteractionChannel,
    InteractionKind,
    OpportunityStage,
    OrderChannel,
    OrderStatus,
    PoolAction,
    Role,
    TicketStatus,
)
from storage.models.features import CustomerFeatures, FeatureRefresh, MetricsRollup
from storage.models.interaction import Interaction, InteractionCreate, InteractionPublic, InteractionUpdate
from storage.models.ledgers import AuditEntry, Coupon, DemoTruth, LoyaltyEntry, PoolHistory
from storage.models.opportunity import Opportunity, OpportunityCreate, OpportunityPublic
from storage.models.order import (
    Order,
    OrderCreate,
    OrderLine,
    OrderLineCreate,
    OrderLinePublic,
    OrderPublic,
    OrderUpdate,
    line_amount,
)
from storage.models.product import Product, ProductCreate, ProductPublic, ProductUpdate
from storage.models.staff import StaffUser, StaffUserCreate, StaffUserPublic, StaffUserUpdate
from storage.models.timeutil import utcnow
from storage.models.web import WebChart, WebMessage, WebPendingWrite, WebThread, WebThreadPublic

__all__ = [
    "NON_REVENUE_STATUSES",
    "SCHEDULER_JOB_TABLE",
    "AlertDelivery",
    "AlertRecord",
    "AuditEntry",
    "Campaign",
    "CampaignCreate",
    "CampaignPublic",
    "CampaignTouch",
    "CampaignTouchPublic",
    "ChurnScoreSeen",
    "Coupon",
    "Customer",
    "CustomerCreate",
    "CustomerFeatures",
    "CustomerPublic",
    "CustomerTag",
    "CustomerUpdate",
    "DemoTruth",
    "Direction",
    "FeatureRefresh",
    "Interaction",
    "InteractionChannel",
    "InteractionCreate",
    "InteractionKind",
    "InteractionPublic",
    "InteractionUpdate",
    "LoyaltyEntry",
    "MetricsRollup",
    "Opportunity",
    "OpportunityCreate",
    "OpportunityPublic",
    "OpportunityStage",
    "Order",
    "OrderChannel",
    "OrderCreate",
    "OrderLine",
    "OrderLineCreate",
    "OrderLinePublic",
    "OrderPublic",
    "OrderStatus",
    "OrderUpdate",
    "PoolAction",
    "PoolHistory",
    "Product",
    "ProductCreate",
    "ProductPublic",
    "ProductUpdate",
    "ReportSchedule",
    "Role",
    "StaffUser",
    "StaffUserCreate",
    "StaffUserPublic",
    "StaffUserUpdate",
    "TicketStatus",
    "WebChart",
    "WebMessage",
    "WebPendingWrite",
    "WebThread",
    "WebThreadPublic",
    "line_amount",
    "utcnow",
]
