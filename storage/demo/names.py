"""Name, place and job vocabularies, drawn in bulk with numpy.

Chinese names combine weighted surname and given-name characters (with pinyin, so
e-mail addresses and social handles read naturally). English names come from
Faker's own weighted name lists, sampled directly: calling Faker per customer
costs ~20 µs a call and its random state is global.
"""

from __future__ import annotations

import numpy as np

# (hanzi, pinyin, relative frequency): the most common Chinese surnames.
ZH_SURNAMES = [
    ("王", "Wang", 7.1), ("李", "Li", 7.0), ("张", "Zhang", 6.7), ("刘", "Liu", 5.4), ("陈", "Chen", 4.5),
    ("杨", "Yang", 3.1), ("黄", "Huang", 2.2), ("赵", "Zhao", 2.0), ("吴", "Wu", 2.0), ("周", "Zhou", 1.9),
    ("徐", "Xu", 1.3), ("孙", "Sun", 1.3), ("马", "Ma", 1.2), ("朱", "Zhu", 1.2), ("胡", "Hu", 1.1),
    ("郭", "Guo", 1.1), ("何", "He", 1.0), ("高", "Gao", 1.0), ("林", "Lin", 1.0), ("罗", "Luo", 0.9),
    ("郑", "Zheng", 0.9), ("梁", "Liang", 0.8), ("谢", "Xie", 0.7), ("宋", "Song", 0.7), ("唐", "Tang", 0.7),
    ("许", "Xu", 0.7), ("韩", "Han", 0.6), ("冯", "Feng", 0.6), ("邓", "Deng", 0.6), ("曹", "Cao", 0.6),
    ("彭", "Peng", 0.6), ("曾", "Zeng", 0.5), ("肖", "Xiao", 0.5), ("田", "Tian", 0.5), ("董", "Dong", 0.5),
    ("袁", "Yuan", 0.5), ("潘", "Pan", 0.4), ("于", "Yu", 0.4), ("蒋", "Jiang", 0.4), ("蔡", "Cai", 0.4),
    ("余", "Yu", 0.4), ("杜", "Du", 0.4), ("叶", "Ye", 0.4), ("程", "Cheng", 0.4), ("苏", "Su", 0.3),
    ("魏", "Wei", 0.3), ("吕", "Lyu", 0.3), ("丁", "Ding", 0.3), ("任", "Ren", 0.3), ("沈", "Shen", 0.3),
    ("姚", "Yao", 0.3), ("卢", "Lu", 0.3), ("姜", "Jiang", 0.3), ("崔", "Cui", 0.3), ("钟", "Zhong", 0.3),
    ("谭", "Tan", 0.3), ("陆", "Lu", 0.3), ("汪", "Wang", 0.3), ("范", "Fan", 0.3), ("金", "Jin", 0.3),
    ("石", "Shi", 0.3), ("廖", "Liao", 0.3), ("贾", "Jia", 0.3), ("夏", "Xia", 0.3), ("付", "Fu", 0.2),
    ("方", "Fang", 0.2), ("白", "Bai", 0.2), ("邹", "Zou", 0.2), ("孟", "Meng", 0.2), ("熊", "Xiong", 0.2),
    ("秦", "Qin", 0.2), ("邱", "Qiu", 0.2), ("江", "Jiang", 0.2), ("尹", "Yin", 0.2), ("薛", "Xue", 0.2),
    ("段", "Duan", 0.2), ("雷", "Lei", 0.2), ("侯", "Hou", 0.2), ("龙", "Long", 0.2), ("史", "Shi", 0.2),
    ("陶", "Tao", 0.2), ("贺", "He", 0.2), ("顾", "Gu", 0.2), ("毛", "Mao", 0.2), ("郝", "Hao", 0.2),
]
ZH_GIVEN_F = [
    ("静", "Jing"), ("芳", "Fang"), ("丽", "Li"), ("娜", "Na"), ("敏", "Min"), ("燕", "Yan"), ("娟", "Juan"),
    ("霞", "Xia"), ("婷", "Ting"), ("雪", "Xue"), ("慧", "Hui"), ("琳", "Lin"), ("颖", "Ying"), ("倩", "Qian"),
    ("洁", "Jie"), ("玲", "Ling"), ("欣", "Xin"), ("怡", "Yi"), ("佳", "Jia"), ("萍", "Ping"), ("红", "Hong"),
    ("梅", "Mei"), ("雯", "Wen"), ("晶", "Jing"), ("月", "Yue"), ("彤", "Tong"), ("璐", "Lu"), ("瑶", "Yao"),
    ("蕾", "Lei"), ("悦", "Yue"), ("诗", "Shi"), ("涵", "Han"), ("梦", "Meng"), ("琪", "Qi"), ("晓", "Xiao"),
    ("秀", "Xiu"), ("兰", "Lan"), ("思", "Si"), ("雨", "Yu"), ("嘉", "Jia"),
]
ZH_GIVEN_M = [
    ("伟", "Wei"), ("强", "Qiang"), ("磊", "Lei"), ("军", "Jun"), ("洋", "Yang"), ("勇", "Yong"), ("杰", "Jie"),
    ("涛", "Tao"), ("明", "Ming"), ("超", "Chao"), ("华", "Hua"), ("平", "Ping"), ("刚", "Gang"), ("辉", "Hui"),
    ("鹏", "Peng"), ("斌", "Bin"), ("宇", "Yu"), ("浩", "Hao"), ("凯", "Kai"), ("健", "Jian"), ("俊", "Jun"),
    ("帆", "Fan"), ("波", "Bo"), ("飞", "Fei"), ("鑫", "Xin"), ("峰", "Feng"), ("建", "Jian"), ("志", "Zhi"),
    ("晨", "Chen"), ("博", "Bo"), ("文", "Wen"), ("东", "Dong"), ("海", "Hai"), ("阳", "Yang"), ("龙", "Long"),
    ("亮", "Liang"), ("成", "Cheng"), ("国", "Guo"), ("子", "Zi"), ("天", "Tian"),
]

# region -> [(city, weight, Chinese city name, [districts], [roads])]
ZH_PLACES = {
    "East China": [
        ("Shanghai", 5, "上海市", ["浦东新区", "徐汇区", "静安区", "闵行区"], ["世纪大道", "南京西路", "漕溪北路", "虹梅路"]),
        ("Hangzhou", 3, "杭州市", ["西湖区", "滨江区", "余杭区"], ["文三路", "江南大道", "文一西路"]),
        ("Nanjing", 2, "南京市", ["鼓楼区", "玄武区", "建邺区"], ["中山路", "北京东路", "江东中路"]),
        ("Suzhou", 2, "苏州市", ["姑苏区", "工业园区"], ["人民路", "星湖街"]),
    ],
    "North China": [
        ("Beijing", 5, "北京市", ["朝阳区", "海淀区", "东城区", "丰台区"], ["建国路", "中关村大街", "东直门内大街"]),
        ("Tianjin", 2, "天津市", ["和平区", "南开区"], ["南京路", "卫津路"]),
    ],
    "South China": [
        ("Guangzhou", 4, "广州市", ["天河区", "越秀区", "海珠区"], ["天河路", "中山五路", "新港中路"]),
        ("Shenzhen", 4, "深圳市", ["南山区", "福田区", "宝安区"], ["深南大道", "科技园路", "宝安大道"]),
    ],
    "West China": [
        ("Chengdu", 3, "成都市", ["锦江区", "武侯区", "高新区"], ["春熙路", "人民南路", "天府大道"]),
        ("Chongqing", 2, "重庆市", ["渝中区", "江北区"], ["解放碑步行街", "建新北路"]),
        ("Xi'an", 2, "西安市", ["雁塔区", "碑林区"], ["长安路", "南大街"]),
    ],
}
# region -> (country, [(city, weight, state or postcode area)])
EN_PLACES = {
    "US East": ("United States", [
        ("New York", 5, "NY 100"), ("Boston", 2, "MA 021"), ("Philadelphia", 2, "PA 191"),
        ("Washington", 2, "DC 200"), ("Atlanta", 2, "GA 303"), ("Miami", 2, "FL 331"),
    ]),
    "US West": ("United States", [
        ("San Francisco", 3, "CA 941"), ("Los Angeles", 4, "CA 900"), ("Seattle", 2, "WA 981"),
        ("San Diego", 2, "CA 921"), ("Portland", 1, "OR 972"),
    ]),
    "UK": ("United Kingdom", [
        ("London", 5, "SW1"), ("Manchester", 2, "M1"), ("Birmingham", 2, "B1"), ("Edinburgh", 1, "EH1"),
        ("Bristol", 1, "BS1"),
    ]),
}
EN_STREETS = ["Oak", "Maple", "Cedar", "Elm", "Park", "Washington", "Lake", "Hill", "Church", "Mill", "King",
              "Queen", "Victoria", "Station", "High", "Market", "River", "Sunset", "Highland", "Pine"]
EN_STREET_KINDS = ["Street", "Avenue", "Road", "Lane", "Drive", "Boulevard", "Place", "Way"]

OCCUPATIONS = [
    "Software Engineer", "Teacher", "Nurse", "Accountant", "Sales Manager", "Designer", "Student", "Doctor",
    "Lawyer", "Civil Servant", "Marketing Specialist", "Entrepreneur", "Retail Manager", "Chef", "Architect",
    "Financial Analyst", "Product Manager", "Pharmacist", "Photographer", "Consultant", "Retired",
    "Researcher", "Logistics Coordinator", "Real Estate Agent", "HR Manager", "Engineer", "Journalist",
    "Freelancer", "Shop Owner", "Data Analyst",
]


def _weighted(rng: np.random.Generator, weights: np.ndarray, size: int) -> np.ndarray:
    return rng.choice(len(weights), size=size, p=weights / weights.sum())


def zh_names(rng: np.random.Generator, female: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Chinese names (hanzi) and their pinyin ("Chen Jing"), one per entry of ``female``."""
    n = len(female)
    sur = _weighted(rng, np.array([w for _, _, w in ZH_SURNAMES]), n)
    sur_hz = np.array([s for s, _, _ in ZH_SURNAMES])[sur]
    sur_py = np.array([p for _, p, _ in ZH_SURNAMES])[sur]
    pools = {True: ZH_GIVEN_F, False: ZH_GIVEN_M}
    given_hz = np.empty(n, dtype=object)
    given_py = np.empty(n, dtype=object)
    two_chars = rng.random(n) < 0.55
    for is_female, pool in pools.items():
        idx = np.flatnonzero(female == is_female)
        hz = np.array([h for h, _ in pool])
        py = np.array([p for _, p in pool])
        a = rng.integers(len(pool), size=len(idx))
        b = rng.integers(len(pool), size=len(idx))
        second = two_chars[idx]
        given_hz[idx] = np.where(second, np.strings.add(hz[a], hz[b]), hz[a])
        given_py[idx] = np.where(second, np.strings.add(py[a], np.strings.lower(py[b])), py[a])
    names = np.strings.add(sur_hz, given_hz.astype(str))
    pinyin = np.strings.add(np.strings.add(sur_py, " "), given_py.astype(str))
    return names.astype(object), pinyin.astype(object)


def en_names(rng: np.random.Generator, female: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """English (first, last, full) names from Faker's weighted en_US lists."""
    from faker.providers.person.en_US import Provider

    n = len(female)
    first = np.empty(n, dtype=object)
    for is_female, table in ((True, Provider.first_names_female), (False, Provider.first_names_male)):
        idx = np.flatnonzero(female == is_female)
        names = np.array(list(table.keys()))
        first[idx] = names[_weighted(rng, np.array(list(table.values())), len(idx))]
    last_names = np.array(list(Provider.last_names.keys()))
    last = last_names[_weighted(rng, np.array(list(Provider.last_names.values())), n)].astype(object)
    full = np.strings.add(np.strings.add(first.astype(str), " "), last.astype(str)).astype(object)
    return first, last, full
