"""Corpus subsets for the fitted static encoder's experiments: seeded samples and the no-overlap filter."""

from __future__ import annotations

from evals.knowledge.corpus_curve import without_overlap
from knowledge.encoder_corpus import Corpus, subsample


def _corpus() -> Corpus:
    demo = [f"Delivery status\nOrder SO-{i:07d}: where is parcel {i}?" for i in range(30)]
    banking = [f"banking message {i}" for i in range(50)]
    chinese = [f"中文评论{i}号" for i in range(20)]
    return Corpus(texts=demo + banking + chinese, sources={"demo": 30, "banking77": 50, "chinese_reviews": 20})


def test_a_subsample_is_seeded_keeps_order_and_counts_each_source():
    corpus = _corpus()
    sample = subsample(corpus, limit=40)
    assert sample == subsample(corpus, limit=40) and len(sample.texts) == 40
    positions = [corpus.texts.index(t) for t in sample.texts]
    assert positions == sorted(positions)
    assert sum(sample.sources.values()) == 40
    assert sample.sources["demo"] == sum(t.startswith("Delivery") for t in sample.texts)
    assert sample.sources["chinese_reviews"] == sum(t.startswith("中文") for t in sample.texts)
    assert subsample(corpus, limit=None) is corpus and subsample(corpus, limit=500) is corpus


def test_texts_quoting_what_the_demo_quotes_are_removed_and_template_wording_is_not():
    demo_bodies = [
        "Delivery status\nCustomer called about order SO-0000001: My order has not arrived after two weeks",
        "物流查询\n投诉订单SO-0000002：快递太慢了，等了整整一个星期才到货",
        *[f"Delivery status\nOrder SO-{i:07d}: a note nobody quotes {i}" for i in range(3, 40)],
    ]
    corpus = Corpus(
        texts=[
            "Delivery status\nOrder SO-0099999: My order has not arrived after two weeks",  # the same quote, framed
            "Delivery status\nOrder SO-0088888: something new entirely",  # shares only the subject template
            "My card has not arrived after two weeks",  # Banking77 wording the demo rewrote (card -> order)
            "How do I change my address?",
            "快递太慢了，等了整整一个星期才到货",  # a review the demo quotes
        ],
        sources={"demo": 2, "banking77": 2, "chinese_reviews": 1},
    )
    kept = without_overlap(corpus, demo_bodies)
    assert kept.texts == ["Delivery status\nOrder SO-0088888: something new entirely", "How do I change my address?"]
    assert kept.sources == {"demo": 1, "banking77": 1, "chinese_reviews": 0}
