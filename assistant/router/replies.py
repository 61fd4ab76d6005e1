"""The router's own words: greetings, refusals, clarifying questions, error explanations.

No digits appear in these texts: every number in an answer must come from a tool
result of the turn (the grounding check), and canned text has none to cite.
"""

from __future__ import annotations

import re

EXAMPLES = {
    "en": [
        "which VIPs went quiet this month?",
        "revenue by region last quarter",
        "what did Chen Jing buy last month?",
        "who is most likely to churn?",
        "how is the sales pipeline?",
    ],
    "zh": ["本月哪些VIP沉默了？", "上个季度各地区的销售额", "陈静上个月买了什么？", "哪些客户最可能流失？", "销售管道情况怎么样？"],
}

_THANKS = re.compile(r"\bthanks?\b|\bthank you\b|\bcheers\b|\bappreciate|谢谢|多谢|感谢|辛苦", re.I)
_BYE = re.compile(r"\bbye\b|\bsee you\b|\bgoodbye\b|再见|拜拜", re.I)
_CAPABILITIES = re.compile(r"what can you|what do you do|help|how does this work|who are you|what are you|what questions|"
                           r"你能|你可以|帮助|怎么用|你是谁|能回答", re.I)  # fmt: skip


def _examples(lang: str, n: int = 3) -> str:
    items = EXAMPLES[lang][:n]
    if lang == "zh":
        return "；".join(f"“{q}”" for q in items)
    return "; ".join(f"“{q}”" for q in items)


def chit_chat(text: str, lang: str) -> str:
    if _THANKS.search(text):
        return "不客气！还有什么想了解的客户或销售情况吗？" if lang == "zh" else "You're welcome! Anything else about your customers or sales?"
    if _BYE.search(text):
        return "再见！" if lang == "zh" else "Goodbye!"
    if _CAPABILITIES.search(text):
        if lang == "zh":
            return (
                "我是CRM助手，可以查询客户档案、购买记录、订单状态、互动记录、销售指标、客户分群、沉默客户、流失风险、"
                "客户终身价值、交叉销售、购买偏好、营销活动、销售管道和VIP报告，也可以记录跟进、分配客户。例如：" + _examples(lang)
            )
        return (
            "I'm the CRM assistant. I can look up customer profiles, purchases, order status and interactions; report sales "
            "metrics, segments, quiet customers, churn risk, lifetime value, cross-sell ideas, preferences, campaigns, the "
            "pipeline and the VIP report; and log interactions or assign customers. For example: " + _examples(lang)
        )
    if lang == "zh":
        return "你好！我是CRM助手。可以问我客户、订单、销售和营销方面的问题，例如：" + _examples(lang)
    return "Hello! I'm the CRM assistant. Ask me about customers, orders, sales or campaigns, for example: " + _examples(lang)


def out_of_scope(lang: str) -> str:
    if lang == "zh":
        return "抱歉，这个问题超出了我的范围：我只能回答CRM中的客户、订单、销售和营销问题。可以试试：" + _examples(lang)
    return (
        "Sorry, that's outside what I can help with: I answer questions about the CRM's customers, orders, sales and "
        "campaigns. You could try: " + _examples(lang)
    )


def ask_customer(lang: str, intent: str) -> str:
    what = {
        "customer_profile": ("whose profile", "查看哪位客户的资料"),
        "purchase_history": ("whose purchases", "查看哪位客户的购买记录"),
        "log_interaction": ("which customer this is for", "这条记录是哪位客户的"),
        "assign_customer": ("which customer", "要分配哪位客户"),
        "purchase_preferences": ("whose preferences", "查看哪位客户的偏好"),
    }.get(intent, ("which customer", "是哪位客户"))
    if lang == "zh":
        return f"请问{what[1]}？请告诉我客户姓名或客户编号。"
    return f"Which customer do you mean ({what[0]})? Please give me a name or a customer id."


def ask_note(lang: str) -> str:
    if lang == "zh":
        return "要记录什么内容？例如：“记录和陈静的通话：她想下周看演示”。"
    return "What should I write down? For example: “log a call with Chen Jing: she wants a demo next week”."


def ambiguous(lang: str, message: str, candidates: list[dict]) -> str:
    lines = []
    for c in candidates:
        label = c.get("label") or ""
        detail = c.get("detail")
        lines.append(f"• {label} ({detail})" if detail else f"• {label}")
    listing = "\n".join(lines)
    if lang == "zh":
        return f"有多个匹配的客户，请问是哪一位？\n{listing}\n可以回复城市、客户编号，或“第一个”“第二个”。"
    return f"Several customers match. Which one do you mean?\n{listing}\nReply with the city, the customer id, or “the first one”, “the second one”."


def tool_error(lang: str, error: dict) -> str:
    code = error.get("error")
    message = error.get("message") or ""
    hint = error.get("hint")
    if code == "not_found":
        if lang == "zh":
            return "没有找到匹配的记录。请检查拼写或编号，或者换个说法再试。"
        return f"I couldn't find that: {message}." + (f" Tip: {hint}." if hint else "")
    if code == "permission_denied":
        return "抱歉，你没有权限执行这个操作。" if lang == "zh" else f"Sorry, you can't do that: {message}."
    if code == "future_date":
        return "这个时间段还没有开始，请换一个过去或当前的时间段。" if lang == "zh" else f"That period hasn't started yet: {message}."
    if code == "empty_period":
        return "这个时间段是空的，请换一个时间段。" if lang == "zh" else f"That period is empty: {message}."
    if code == "database_unavailable":
        return "抱歉，数据库暂时不可用（繁忙或无法连接），请稍后再试。" if lang == "zh" else f"Sorry, {message}."
    if lang == "zh":
        return f"抱歉，没能完成查询：{message}" + (f"（{hint}）" if hint else "")
    return f"Sorry, I couldn't answer that: {message}" + (f" ({hint})" if hint else "")


def no_data(lang: str) -> str:
    return "没有找到符合条件的数据。" if lang == "zh" else "I found nothing that matches."
