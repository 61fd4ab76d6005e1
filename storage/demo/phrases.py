"""Built-in interaction phrases, used when the real text datasets are not available.

Kept short on purpose (a few dozen per language): enough for a demo and for tests
on machines without ``CRM_DATASETS``; the real datasets give far more variety.
"""

PHRASES: dict[tuple[str, str], list[str]] = {
    ("en", "delivery"): [
        "I am still waiting on my order, it has been over a week.",
        "The tracking page has not updated in five days. Where is my order?",
        "My package was supposed to arrive on Monday and it still hasn't come.",
        "The courier marked the order as delivered but nothing arrived.",
        "Can you tell me when my order will finally arrive?",
        "This delivery is very late and nobody answers the phone at the carrier.",
        "I need the order quickly, it was a gift and it's late.",
        "The parcel seems to be lost somewhere between the depot and my house.",
    ],
    ("en", "quality"): [
        "My ITEM stopped working after two days.",
        "The ITEM arrived with a cracked screen.",
        "The ITEM isn't working at all, I need assistance.",
        "The battery of the ITEM drains in a few hours, this can't be normal.",
        "The ITEM looks used and has scratches all over it.",
        "The ITEM does not match the description on the website.",
    ],
    ("en", "quality_generic"): [
        "The ITEM arrived damaged and the packaging was torn.",
        "The quality of the ITEM is much worse than in the photos.",
        "The ITEM I received is not what I ordered.",
        "The ITEM fell apart after a week of normal use.",
        "Half of the ITEM was missing from the box.",
        "The ITEM smells strange and looks like a cheap copy.",
    ],
    ("en", "refund"): [
        "How long does it take to get a refund on something I returned?",
        "I requested a refund two weeks ago and still don't see it.",
        "I want to return an item for a refund, can I do that?",
        "Please help me, I am still waiting on my refund.",
    ],
    ("en", "payment"): [
        "I was charged twice for the same order.",
        "My payment is still pending, is there a problem?",
        "The payment was declined but the money left my account.",
        "There is a charge on my statement I don't recognise.",
    ],
    ("en", "account"): [
        "I would like to update my delivery address.",
        "Please change the phone number on my account.",
        "I forgot my password and can't log in to the app.",
        "Can you remove me from the SMS list but keep the emails?",
    ],
    ("en", "positive"): [
        "Great service, the order arrived a day early!",
        "Love the new collection, already ordered twice this month.",
        "Thanks for the quick help with my exchange.",
        "Best prices in town during the sale, very happy.",
        "The staff in the store were super helpful today.",
        "Fast shipping and well packed, will buy again.",
    ],
    ("zh", "delivery"): [
        "快递太慢了，一个星期还没到。", "物流信息好几天没更新，我的订单到底在哪里？",
        "说好周一送到，现在还没收到货。", "快递显示已签收，但我根本没收到。",
        "配送太慢，等了很久，体验很差。", "送货员不打电话直接放门口，东西丢了。",
        "发货太慢了，催了好几次才发。", "包裹好像在中转站丢了，请尽快处理。",
    ],
    ("zh", "quality"): [
        "用了两天就坏了，质量太差。", "收到的商品屏幕有裂痕。", "东西和描述不符，很失望。",
        "电池很不耐用，半天就没电了。", "包装破损，商品有划痕，像是二手的。", "做工粗糙，不值这个价。",
    ],
    ("zh", "positive"): [
        "物流很快，包装很好，好评！", "质量不错，性价比很高，会回购。", "客服态度很好，问题很快解决了。",
        "活动价格很划算，已经推荐给朋友。", "门店服务很热情，体验很好。", "东西很好用，非常满意。",
    ],
    ("zh", "general"): [
        "想咨询一下退货流程。", "请帮我修改收货地址。", "发票什么时候可以开？", "会员积分怎么使用？",
        "双十一有什么优惠活动吗？", "我的优惠券为什么用不了？",
    ],
}
