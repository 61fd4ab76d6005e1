"""Router training utterances and eval questions must not overlap (normalised text).

Compared three ways: the raw templates, the templates with placeholders dropped,
and every training utterance as the router fills it. A match in any means the eval
would be scoring memory instead of understanding.
"""

import re

from assistant.router.text import key
from assistant.router.utterances import SAMPLES, expand, load_utterances
from evals.questions import load_all

_PLACEHOLDER = re.compile(r"\{\w+\}")


def _norm(text: str) -> str:
    return key(_PLACEHOLDER.sub("", text))


def test_question_set_is_big_enough_and_bilingual():
    items = load_all()
    assert len(items) >= 300
    for persona in ("rep", "manager", "support"):
        for lang in ("en", "zh"):
            assert sum(1 for i in items if i.persona == persona and i.lang == lang) >= 30, (persona, lang)
    assert sum(1 for i in items if i.is_follow_up) >= 20
    assert sum(1 for i in items if i.expect.get("kind") == "clarify") >= 4
    assert sum(1 for i in items if i.expect.get("kind") == "refuse") >= 10


def test_no_eval_question_is_a_training_utterance():
    training = load_utterances()
    templates = {_norm(u.template) for u in training}
    filled = {key(text) for _, text, _ in expand(training, copies=3)}
    clashes = []
    for item in load_all():
        q = item.question
        if _norm(q) in templates or key(q) in filled:
            clashes.append(f"{item.id}: {q}")
        # Also with the eval's placeholders replaced by every sample value of the same kind.
        for lang_samples in SAMPLES.values():
            for name in lang_samples.get("customer", [])[:3]:
                if key(q.replace("{customer}", name)) in filled:
                    clashes.append(f"{item.id}: {q} ({name})")
    assert clashes == []


def test_the_check_can_fail():
    u = load_utterances()[0]
    assert _norm(u.template) in {_norm(x.template) for x in load_utterances()}
