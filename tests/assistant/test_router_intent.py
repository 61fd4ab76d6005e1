"""The intent model: trains from the bundled utterances, caches under CRM_HOME, generalises to new phrasings."""

import pytest

from assistant.router import intent
from assistant.router.intent import features, get_intent_model, training_gazetteer
from assistant.router.utterances import INTENTS_WITHOUT_TOOL, load_utterances
from tools.registry import TOOLS


def test_every_tool_and_the_extra_intents_have_utterances_in_both_languages():
    by_intent: dict[str, set[str]] = {}
    for u in load_utterances(with_cues=False):
        by_intent.setdefault(u.intent, set()).add(u.lang)
    for name in [*TOOLS, *INTENTS_WITHOUT_TOOL]:
        assert by_intent.get(name) == {"en", "zh"}, name
    assert len(load_utterances(with_cues=False)) >= 300


def test_model_is_cached_under_crm_home(crm_home):
    intent.reset()
    model = get_intent_model()
    assert intent.cache_path().exists() and str(intent.cache_path()).startswith(str(crm_home))
    intent.reset()
    assert get_intent_model().classes == model.classes  # loaded back from the pickle


# Phrasings written for this test, absent from the training files.
@pytest.mark.parametrize(
    "question,expected",
    [
        ("which of our vip accounts have stopped ordering", "quiet_customers"),
        ("break revenue down by province and month", "query_metrics"),
        ("what's the likelihood that Chen Jing leaves us", "churn_risk"),
        ("jot a note for Chen Jing: wants the catalogue", "log_interaction"),
        ("hand Chen Jing over to Emily Carter", "assign_customer"),
        ("上个月华东区卖了多少钱", "query_metrics"),
        ("陈静最近下的单到哪了", "order_status"),
        ("哪些客户可能不会再回来了", "churn_risk"),
        ("今天星期几啊，讲个故事吧", "out_of_scope"),
        ("嗨，早", "chit_chat"),
    ],
)
def test_unseen_phrasings(question, expected):
    model = get_intent_model()
    assert model.predict_features(features(question, training_gazetteer())).intent == expected
