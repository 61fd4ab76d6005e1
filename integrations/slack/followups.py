"""Follow-up buttons: the next questions a person is likely to ask after this answer.

Built from what the answer cited, in the question's language, phrased so the offline
router understands them (an LLM does too). A follow-up already answered by this turn's
tool calls is not offered again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel

if TYPE_CHECKING:
    from assistant import Reply

MAX_FOLLOWUPS = 3

# (tool that answers it, button label, question): {c} is the customer's external id.
_CUSTOMER_FOLLOWUPS = {
    "en": [
        ("customer_profile", "Profile of {c}", "profile of {c}"),
        ("purchase_history", "Purchases of {c}", "purchase history of {c}"),
        ("interaction_history", "Recent contacts with {c}", "recent interactions with {c}"),
    ],
    "zh": [
        ("customer_profile", "{c} 的档案", "{c} 的客户档案"),
        ("purchase_history", "{c} 的购买记录", "{c} 的购买记录"),
        ("interaction_history", "{c} 的沟通记录", "{c} 最近的沟通记录"),
    ],
}


class Followup(BaseModel):
    label: str
    question: str


def followups_for(reply: Reply) -> list[Followup]:
    if reply.error is not None:
        return []
    customer = next((c for c in reply.citations if c.kind == "customer"), None)
    if customer is None:
        return []
    # A per-customer tool this turn already ran was about the customer it cites first.
    answered = {call.name for call in reply.tool_calls if call.args.get("customer") and call.error is None}
    out = []
    for tool, label, question in _CUSTOMER_FOLLOWUPS.get(reply.language, _CUSTOMER_FOLLOWUPS["en"]):
        if tool in answered:
            continue
        out.append(Followup(label=label.format(c=customer.label), question=question.format(c=customer.label)))
    return out[:MAX_FOLLOWUPS]
