"""Slots from questions, with the fixed vocabulary only (no database)."""

from datetime import date

import pytest

from assistant.router.entities import find_mentions, guess_name_span
from assistant.router.gazetteer import offline_gazetteer
from assistant.router.slots import extract_slots
from assistant.router.text import detect_language, normalize

TODAY = date(2026, 11, 22)
GAZ = offline_gazetteer(customers=["Chen Jing", "陈静", "John Smith"], staff=["Emily Carter", "李娜"],
                        extra={"city": ["Shanghai", "London"], "category": ["Phones", "Laptops"], "brand": ["Xiaomi"]})  # fmt: skip


def slots(text: str):
    text = normalize(text)
    return extract_slots(text, lang=detect_language(text), mentions=find_mentions(text, gazetteer=GAZ, today=TODAY), today=TODAY)


@pytest.mark.parametrize("text,n", [("top 10 customers by spend", 10), ("前10名客户", 10), ("前十的产品", 10),
                                    ("the 5 biggest accounts", 5), ("worst three categories", 3), ("give me 15 names", 15),
                                    ("revenue last 30 days", None), ("最近30天", None)])  # fmt: skip
def test_top_n(text, n):
    assert slots(text).top_n == n


@pytest.mark.parametrize("text,tier,segment", [("which VIPs went quiet", "vip", None), ("高价值客户", "vip", None),
                                                ("customers at risk", None, "at_risk"), ("流失风险客户", None, "at_risk"),
                                                ("list the champions", None, "champions")])  # fmt: skip
def test_segment_words(text, tier, segment):
    s = slots(text)
    assert (s.tier, s.segment) == (tier, segment)


def test_measures_dimensions_and_filters():
    s = slots("Xiaomi phone sales by city last quarter")
    assert s.measures == ["revenue"] and s.dimensions == ["city"]
    assert s.brands == ["Xiaomi"] and s.categories == ["Phones"]
    assert s.period == (date(2026, 7, 1), date(2026, 9, 30))
    zh = slots("上个季度各地区的销售额")
    assert zh.measures == ["revenue"] and zh.dimensions == ["region"]


def test_the_most_specific_measure_wins():
    assert slots("how many orders were returned last month").measures == ["returns"]
    assert slots("revenue and orders by month").measures == ["revenue", "orders"]


def test_customer_names_and_pronouns():
    assert slots("what did Chen Jing buy last month").customer == "Chen Jing"
    assert slots("陈静上个月买了什么").customer == "陈静"
    assert slots("show her orders").customer_is_pronoun


def test_staff_after_a_cue_is_the_target_of_an_assignment():
    s = slots("assign John Smith to Emily Carter")
    assert s.customer == "John Smith" and s.staff == ["Emily Carter"] and s.assign_action == "assign"
    assert slots("release John Smith to the public pool").assign_action == "release"
    assert slots("claim John Smith").assign_action == "claim"


def test_note_text():
    s = slots("log a call with Chen Jing: she wants a demo next week")
    assert s.customer == "Chen Jing" and s.note == "she wants a demo next week" and s.interaction_kind == "call"
    zh = slots("记录一下和陈静的通话：她下周想看演示")
    assert zh.note == "她下周想看演示"


def test_pool_mine_and_places():
    s = slots("my customers in the public pool in 上海")
    assert s.pool == "public" and s.mine and s.cities == ["Shanghai"]


def test_unknown_names_are_guessed_from_their_shape():
    text = normalize("show the profile of Zebulon Quartermaine")
    span = guess_name_span(text, find_mentions(text, gazetteer=GAZ, today=TODAY))
    assert text[span[0] : span[1]] == "Zebulon Quartermaine"
    text = "查一下司马相如的购买记录"
    span = guess_name_span(text, find_mentions(text, gazetteer=GAZ, today=TODAY))
    assert text[span[0] : span[1]] == "司马相如"


def test_language_detection():
    assert detect_language("what did 王小明 buy last month") == "en"
    assert detect_language("上个月 revenue by region") == "zh"
    assert detect_language("VIP报告") == "zh"
