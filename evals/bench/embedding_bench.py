"""Benchmark: the encoder trade-off curve, docs/s against recall@10 lost to plain MiniLM, in one process.

Target (issue 4): >= 1,000 docs/s with <= 2 points of recall@10 lost, for vector search alone
and for hybrid search, on the labelled queries over the pinned demo (evals/knowledge).

1. docs/s on the demo's distinct chunk texts. The encoders take turns on slices of the
   texts, so a change in machine load (it is shared) hits all of them alike.
2. recall@10, vector-only and hybrid, each encoder indexing the demo into its own Chroma
   directory (stored vectors, the real search path); loss in points against minilm-torch.
3. Banking77 1-NN intent accuracy (test against train) as an outside check, beside the
   int8 model (plain MiniLM on torch needs minutes for 13k texts: CRM_BENCH_BANKING_TORCH=1).
4. For the fitted static model, the build's own record: corpus, held-out fidelity, build time.

Environment: CRM_BENCH_EMBED_VARIANTS (comma list), CRM_BENCH_SPEED_DOCS (default 2000).
"""

from __future__ import annotations

import os
import typing

from evals.bench.knowledge_bench import (
    banking77_accuracy,
    demo_chunk_texts,
    embedding_speed,
    prepare_encoders,
)

VARIANTS = ("minilm-torch", "minilm-onnx-int8", "minilm-static", "minilm-static-fit")
REFERENCE = "minilm-torch"
TARGET_RATE = 1000.0
TARGET_LOSS = 2.0


def _configurable(variant: str) -> bool:
    from knowledge.settings import EmbeddingVariant

    return variant in typing.get_args(EmbeddingVariant)


def main() -> None:
    from evals.bench.knowledge_scale import bench_dir
    from evals.knowledge.run import index_and_score, prepare_demo

    variants = [v.strip() for v in os.environ.get("CRM_BENCH_EMBED_VARIANTS", ",".join(VARIANTS)).split(",")
                if v.strip()]
    if REFERENCE not in variants:
        variants.insert(0, REFERENCE)
    prepare_encoders(variants)
    home = bench_dir() / "knowledge-demo"
    url = prepare_demo(home)
    distinct = list(dict.fromkeys(demo_chunk_texts(url)))
    sample = distinct[: int(os.environ.get("CRM_BENCH_SPEED_DOCS", "2000"))]
    print(f"speed sample: {len(sample):,} distinct demo chunk texts on {os.cpu_count()} cores "
          f"(load average {os.getloadavg()[0]:.1f})")
    rates = embedding_speed(sample, variants)

    recall: dict[str, tuple[float, float]] = {}
    for variant in variants:
        if not _configurable(variant):
            print(f"  {variant}: not in knowledge.settings.EmbeddingVariant, so it cannot index; recall skipped")
            continue
        hybrid, _ = index_and_score(url, home=home, variant=variant)
        vector, _ = index_and_score(url, home=home, variant=variant, use_keywords=False)
        recall[variant] = (vector.recall(10), hybrid.recall(10))

    ref_vector, ref_hybrid = recall[REFERENCE]
    print("\nencoder              docs/s  x torch   vector R@10 (loss)   hybrid R@10 (loss)   meets target")
    for variant in variants:
        rate = rates[variant]
        line = f"{variant:<18} {rate:8,.0f} {rate / rates[REFERENCE]:7.1f}x"
        if variant in recall:
            vector, hybrid = recall[variant]
            v_loss, h_loss = (ref_vector - vector) * 100, (ref_hybrid - hybrid) * 100
            ok = rate >= TARGET_RATE and v_loss <= TARGET_LOSS and h_loss <= TARGET_LOSS
            line += f"   {vector:8.3f} ({v_loss:+5.1f})   {hybrid:10.3f} ({h_loss:+5.1f})     {'yes' if ok else 'no'}"
        print(line)
    print(f"(target: >= {TARGET_RATE:,.0f} docs/s and <= {TARGET_LOSS:.0f} points of recall@10 lost, vector and "
          "hybrid; negative loss = better than plain MiniLM)")

    with_torch = os.environ.get("CRM_BENCH_BANKING_TORCH") == "1"
    accuracy = banking77_accuracy([v for v in variants if with_torch or v != REFERENCE])
    if accuracy:
        print("Banking77 1-NN intent accuracy (test 3,080 vs train 10,003): "
              + ", ".join(f"{v} {a:.3f}" for v, a in accuracy.items()))
    if "minilm-static-fit" in variants:
        _print_build_record()


def _print_build_record() -> None:
    from knowledge import model_build
    from knowledge.encoder_fit import read_report

    report = read_report(model_build.static_fit_dir())
    if report:
        print(f"minilm-static-fit build: corpus {report.corpus} ({report.train_texts:,} fitted, "
              f"{report.heldout_texts:,} held out), {report.bigrams:,} bigrams; held-out cosine to MiniLM "
              f"{report.heldout_cosine:.3f} (unfitted table {report.heldout_cosine_before:.3f}), 10-NN agreement "
              f"{report.heldout_agreement:.3f} (unfitted {report.heldout_agreement_before:.3f}); build "
              f"{sum(report.seconds.values()):.0f} s {report.seconds}")


if __name__ == "__main__":
    main()
