"""ORM tables, one module each. Importing this package registers every table on ``Base``."""

from credira.models.account import Account, AdminKey, PlatformSecret
from credira.models.agent import VoiceAgent
from credira.models.base import Base
from credira.models.call import Call
from credira.models.callout import Callout
from credira.models.dashboard import DashboardSession
from credira.models.email import Email, EmailTemplate
from credira.models.event import Event
from credira.models.idempotency import IdempotencyRecord
from credira.models.invoice import Invoice
from credira.models.plan import CollectionPlan, ImportJob, PlanStepRun
from credira.models.provider import ProviderCall, ProviderSetting
from credira.models.simulator import SimulatedCall
from credira.models.suppression import Suppression
from credira.models.usage import DailyUsage
from credira.models.user import ApiKey, User
from credira.models.webhook import WebhookDelivery, WebhookEndpoint

__all__ = [
    "Account",
    "AdminKey",
    "ApiKey",
    "Base",
    "Call",
    "Callout",
    "CollectionPlan",
    "DailyUsage",
    "DashboardSession",
    "Email",
    "EmailTemplate",
    "Event",
    "IdempotencyRecord",
    "ImportJob",
    "Invoice",
    "PlanStepRun",
    "PlatformSecret",
    "ProviderCall",
    "ProviderSetting",
    "SimulatedCall",
    "Suppression",
    "User",
    "VoiceAgent",
    "WebhookDelivery",
    "WebhookEndpoint",
]
