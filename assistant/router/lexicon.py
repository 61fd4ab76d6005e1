"""Fixed bilingual vocabularies: words the database cannot tell us.

Values the data holds (cities, categories, brands, customer and staff names) come
from ``assistant.router.gazetteer``; this module adds their Chinese spellings and
the closed vocabularies of the tools (segments, tiers, channels, measures,
dimensions). Keys are matched case-insensitively as whole words (English) or as
substrings (Chinese).
"""

from __future__ import annotations

# Value tiers by spend and named RFM segments (tools.rfm.SEGMENTS / TIERS).
TIER_WORDS: dict[str, str] = {
    "vip": "vip", "vips": "vip", "high value": "vip", "high-value": "vip", "top tier": "vip", "top-tier": "vip",
    "key account": "vip", "key accounts": "vip", "big customers": "vip", "biggest customers": "vip",
    "mid tier": "mid", "mid-tier": "mid", "mid value": "mid", "mid-value": "mid", "medium value": "mid",
    "low value": "low", "low-value": "low", "low tier": "low",
    "高价值": "vip", "大客户": "vip", "重点客户": "vip", "贵宾": "vip",
    "中价值": "mid", "中等价值": "mid", "中端": "mid", "低价值": "low",
}  # fmt: skip
SEGMENT_WORDS: dict[str, str] = {
    "champions": "champions", "champion": "champions", "loyal": "loyal", "loyalists": "loyal",
    "potential loyalists": "potential_loyalists", "potential loyalist": "potential_loyalists",
    "promising": "promising", "need attention": "need_attention", "needs attention": "need_attention",
    "needing attention": "need_attention", "about to sleep": "about_to_sleep", "at risk": "at_risk",
    "at-risk": "at_risk", "can't lose them": "cant_lose_them", "cant lose them": "cant_lose_them",
    "cannot lose": "cant_lose_them", "can't lose": "cant_lose_them", "hibernating": "hibernating",
    "lost customers": "lost", "lost segment": "lost",
    "冠军客户": "champions", "冠军": "champions", "忠诚客户": "loyal", "忠诚": "loyal", "潜力客户": "potential_loyalists",
    "潜力": "potential_loyalists", "有望客户": "promising", "需关注": "need_attention", "需要关注": "need_attention",
    "即将沉睡": "about_to_sleep", "流失风险客户": "at_risk", "流失风险分群": "at_risk", "不可失去": "cant_lose_them",
    "不能失去": "cant_lose_them", "休眠客户": "hibernating", "休眠": "hibernating", "沉睡客户": "hibernating",
    "已流失": "lost",
}  # fmt: skip
LOYALTY_WORDS: dict[str, str] = {
    "bronze": "bronze", "silver": "silver", "gold": "gold", "platinum": "platinum",
    "铜卡": "bronze", "铜牌": "bronze", "银卡": "silver", "银牌": "silver", "金卡": "gold", "金牌": "gold",
    "白金": "platinum", "铂金": "platinum",
}  # fmt: skip
CHANNEL_WORDS: dict[str, str] = {
    "online": "online", "web": "online", "website": "online", "e-commerce": "online", "store": "store",
    "stores": "store", "in-store": "store", "in store": "store", "offline": "store", "retail store": "store",
    "app": "app", "mobile app": "app", "social": "social", "social media": "social",
    "线上": "online", "网店": "online", "官网": "online", "门店": "store", "线下": "store", "实体店": "store",
    "小程序": "app", "社交": "social", "社媒": "social",
}  # fmt: skip
GENDER_WORDS: dict[str, str] = {
    "female": "F", "women": "F", "woman": "F", "male": "M", "men": "M", "man": "M",
    "女性": "F", "女": "F", "男性": "M", "男": "M",
}  # fmt: skip

# Measures and dimensions of query_metrics; the metrics module's own synonyms are merged in at run time.
MEASURE_WORDS: dict[str, str] = {
    "revenue": "revenue", "sales": "revenue", "turnover": "revenue", "gmv": "revenue", "income": "revenue",
    "earnings": "revenue", "sold": "revenue", "selling": "revenue", "sell": "revenue", "takings": "revenue",
    "orders": "orders", "order count": "orders", "number of orders": "orders", "order volume": "orders",
    "units": "units", "units sold": "units", "quantity": "units", "pieces": "units", "volume": "units",
    "how many customers": "customers", "number of customers": "customers", "customer count": "customers",
    "how many buyers": "customers", "how many clients": "customers", "spend": "revenue", "spent": "revenue",
    "spending": "revenue", "unique buyers": "customers", "unique customers": "customers", "distinct customers": "customers",
    "different customers": "customers", "returned orders": "returns", "orders returned": "returns",
    "were returned": "returns", "got returned": "returns", "return rate": "return_rate", "returns rate": "return_rate",
    "new customers": "new_customers", "new buyers": "new_customers", "acquired": "new_customers",
    "acquire": "new_customers", "active customers": "active_customers", "active buyers": "active_customers",
    "average order value": "average_order_value", "aov": "average_order_value", "avg order value": "average_order_value",
    "basket size": "average_order_value", "average basket": "average_order_value", "average ticket": "average_order_value",
    "basket value": "average_order_value", "average basket value": "average_order_value", "order value": "average_order_value", "returns": "returns", "returned": "returns",
    "refunds": "returns", "return count": "returns", "conversions": "campaign_conversions",
    "campaign conversions": "campaign_conversions", "converted": "campaign_conversions",
    "销售额": "revenue", "销售": "revenue", "营收": "revenue", "收入": "revenue", "营业额": "revenue", "业绩": "revenue",
    "gmv额": "revenue", "卖了多少钱": "revenue", "订单数": "orders", "订单量": "orders", "订单": "orders",
    "单量": "orders", "多少单": "orders", "销量": "units", "件数": "units", "卖了多少件": "units", "数量": "units",
    "客户数": "customers", "购买客户": "customers", "多少客户": "customers", "几个客户": "customers", "消费": "revenue",
    "花了多少": "revenue", "买了多少钱": "revenue",
    "新客户": "new_customers", "新客": "new_customers", "新增客户": "new_customers", "新增": "new_customers",
    "活跃客户": "active_customers", "客单价": "average_order_value", "平均订单金额": "average_order_value",
    "平均订单价值": "average_order_value", "平均客单价": "average_order_value",
    "退货": "returns", "退货数": "returns", "退款": "returns", "转化数": "campaign_conversions", "转化": "campaign_conversions",
    "退了": "returns", "退单": "returns", "退货单": "returns", "退货率": "return_rate", "不同的客户": "customers",
    "多少个客户": "customers", "多少位客户": "customers", "客户下过单": "customers", "新获取": "new_customers", "获客": "new_customers",
    "拉新": "new_customers", "新增了多少客户": "new_customers", "多少件": "units", "卖出": "units", "卖了几件": "units",
}  # fmt: skip
DIMENSION_WORDS: dict[str, str] = {
    "day": "day", "daily": "day", "per day": "day", "each day": "day", "week": "week", "weekly": "week",
    "per week": "week", "month": "month", "monthly": "month", "per month": "month", "each month": "month",
    "trend": "month", "over time": "month", "quarter": "quarter", "quarterly": "quarter", "per quarter": "quarter",
    "year": "year", "yearly": "year", "annual": "year", "per year": "year", "region": "region", "regions": "region",
    "area": "region", "city": "city", "cities": "city", "country": "country", "countries": "country",
    "category": "category", "categories": "category", "product line": "category", "brand": "brand",
    "brands": "brand", "product": "product", "products": "product", "sku": "product", "item": "product",
    "items": "product", "channel": "channel", "channels": "channel", "owner": "owner", "rep": "owner",
    "reps": "owner", "salesperson": "owner", "sales rep": "owner", "account manager": "owner", "tier": "tier",
    "tiers": "tier", "segment": "segment", "segments": "segment", "campaign": "campaign", "campaigns": "campaign",
    "gender": "gender", "age band": "age_band", "age group": "age_band", "age": "age_band", "ages": "age_band",
    "每天": "day", "每日": "day", "按天": "day", "每周": "week", "按周": "week", "每月": "month", "每个月": "month",
    "按月": "month", "月度": "month", "趋势": "month", "每季度": "quarter", "每个季度": "quarter", "按季度": "quarter",
    "每年": "year", "年度": "year", "按年": "year", "地区": "region", "区域": "region",
    "大区": "region", "城市": "city", "国家": "country", "品类": "category", "类别": "category", "类目": "category",
    "品牌": "brand", "产品": "product", "商品": "product", "渠道": "channel", "销售人员": "owner", "每个销售": "owner",
    "各销售": "owner", "负责人": "owner", "等级": "tier", "分层": "tier", "细分": "segment", "分群": "segment",
    "活动": "campaign", "性别": "gender", "年龄段": "age_band", "年龄": "age_band",
}  # fmt: skip

# Chinese (and a few English) spellings of values the demo stores in English.
PLACE_ALIASES: dict[str, str] = {
    "上海": "Shanghai", "北京": "Beijing", "深圳": "Shenzhen", "广州": "Guangzhou", "杭州": "Hangzhou",
    "成都": "Chengdu", "南京": "Nanjing", "武汉": "Wuhan", "西安": "Xi'an", "重庆": "Chongqing", "苏州": "Suzhou",
    "天津": "Tianjin", "纽约": "New York", "伦敦": "London", "洛杉矶": "Los Angeles", "旧金山": "San Francisco",
    "芝加哥": "Chicago", "波士顿": "Boston", "西雅图": "Seattle", "费城": "Philadelphia", "华盛顿": "Washington",
    "亚特兰大": "Atlanta", "迈阿密": "Miami", "圣地亚哥": "San Diego", "波特兰": "Portland", "曼彻斯特": "Manchester",
    "伯明翰": "Birmingham", "爱丁堡": "Edinburgh", "布里斯托": "Bristol", "布里斯托尔": "Bristol",
    "华东": "East China", "华北": "North China", "华南": "South China", "华西": "West China", "西部": "West China",
    "美东": "US East", "美国东部": "US East", "美西": "US West", "美国西部": "US West", "英国": "UK",
    "中国": "China", "美国": "United States", "xian": "Xi'an", "nyc": "New York", "sf": "San Francisco",
    "la": "Los Angeles",
}  # fmt: skip
CATEGORY_ALIASES: dict[str, str] = {
    "手机": "Phones", "手机配件": "Phone Accessories", "配件": "Phone Accessories", "笔记本": "Laptops",
    "笔记本电脑": "Laptops", "电脑": "Laptops", "音频": "Audio", "耳机": "Audio", "音响": "Audio", "家居": "Home",
    "家电": "Home", "厨房": "Kitchen", "厨具": "Kitchen", "美妆": "Beauty", "护肤": "Beauty", "化妆品": "Beauty",
    "服装": "Apparel", "服饰": "Apparel", "衣服": "Apparel", "运动": "Sports", "户外": "Sports", "图书": "Books",
    "书籍": "Books", "书": "Books", "食品": "Food & Drink", "饮料": "Food & Drink", "食品饮料": "Food & Drink",
    "玩具": "Toys", "phone": "Phones", "smartphones": "Phones", "accessories": "Phone Accessories",
    "laptop": "Laptops", "headphones": "Audio", "clothing": "Apparel", "clothes": "Apparel", "fashion": "Apparel",
    "food": "Food & Drink", "drinks": "Food & Drink", "toy": "Toys", "cosmetics": "Beauty",
    "skincare": "Beauty", "sport": "Sports",
}  # fmt: skip
BRAND_ALIASES: dict[str, str] = {
    "苹果": "Apple", "三星": "Samsung", "小米": "Xiaomi", "华为": "Huawei", "谷歌": "Google", "一加": "OnePlus",
    "荣耀": "Honor", "联想": "Lenovo", "戴尔": "Dell", "惠普": "HP", "华硕": "ASUS", "宏碁": "Acer", "微软": "Microsoft",
    "罗技": "Logitech", "索尼": "Sony", "安克": "Anker", "绿联": "Ugreen", "倍思": "Baseus", "飞利浦": "Philips",
    "戴森": "Dyson", "耐克": "Nike", "阿迪达斯": "Adidas", "优衣库": "Uniqlo", "乐高": "LEGO", "任天堂": "Nintendo",
    "欧莱雅": "L'Oreal", "雅诗兰黛": "Estee Lauder", "美的": "Midea", "宜家": "IKEA",
}  # fmt: skip

# Words that refer back to the customer of the previous turn.
PRONOUNS_EN = ("her", "him", "his", "she", "he", "them", "they", "their", "this customer", "that customer",
               "the customer", "this client", "that client", "same customer", "this one", "that one")  # fmt: skip
PRONOUNS_ZH = ("她", "他", "这个客户", "该客户", "这位客户", "那个客户", "这位", "此客户")
# "me", "my", "mine": the caller as owner/rep.
SELF_EN = ("my", "mine", "me", "i own", "i manage")
SELF_ZH = ("我的", "我名下", "我负责", "我自己", "我")

INTERACTION_KINDS: dict[str, str] = {
    "call": "call", "called": "call", "phone": "call", "phoned": "call", "rang": "call", "spoke": "call",
    "visit": "visit", "visited": "visit", "met": "visit", "meeting": "visit", "email": "email", "emailed": "email",
    "complaint": "complaint", "complained": "complaint", "ticket": "ticket", "note": "note",
    "电话": "call", "通话": "call", "打了电话": "call", "拜访": "visit", "会议": "visit", "见面": "visit",
    "邮件": "email", "投诉": "complaint", "工单": "ticket", "备注": "note", "跟进": "note",
}  # fmt: skip

STOPWORDS_EN = frozenset(
    """a an the of for to in on at by with and or from about me my our we us you your i it its is are was were be been
    show list give tell find what whats what's which who whom how many much when where why did does do has have had
    please can could would should will all any some top best last this next per each every vs versus than only just
    customer customers client clients order orders""".split()
)
