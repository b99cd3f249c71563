#!/usr/bin/env python3
"""Builds a small BERT-family ONNX model + BPE tokenizer in the layout `metavec prep --embed onnx:DIR` reads,
with the same architecture as DNABERT-2 (MosaicBERT: no position embeddings, ALiBi attention biases,
gated-GELU MLP, post-LayerNorm), random weights from a seed, and reference outputs computed with numpy.

  make-tiny-bert.py OUT_DIR                      the committed test fixture (test/fixtures/tiny-bert)
  make-tiny-bert.py OUT_DIR --hidden 768 --layers 12 --heads 12 --intermediate 3072 --vocab 4096 \
      --max-length 512 --no-expected            a DNABERT-2-sized random-weight model (bench/, ~470 MB)
  make-tiny-bert.py --reference DIR < in.json    token ids (Python `tokenizers`) and mean-pooled vectors
                                                 (numpy forward pass on DIR's weights) for {"sequences": [...]}

Needs numpy and onnx (PyPI or Debian python3-onnx) to build; --reference and the expected values also
need the Hugging Face `tokenizers` library (PyPI), the reference implementation of tokenizer.json.
"""
import argparse
import json
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mosaicbert import build_onnx, forward, load_weights  # noqa: E402

SPECIALS = ["[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]"]  # DNABERT-2's order and ids
# DNABERT-2's BPE alphabet (ids 5-8 in its tokenizer.json) has no N: an N becomes [UNK] (id 0), one per N.
BASES = ["A", "C", "G", "T"]


def build_tokenizer(vocab_size, rng):
    vocab = {t: i for i, t in enumerate(SPECIALS + BASES)}
    merges = []
    # merges: all dinucleotides, then random pairs of existing pieces (longer tokens), as BPE training would
    for a in "ACGT":
        for b in "ACGT":
            merges.append((a, b))
    longer = [a + b for a, b in merges]  # merged pieces, in merge order (a piece made twice appears twice)
    seen = set(merges)
    while len(vocab) + len(merges) < vocab_size:
        a = longer[rng.integers(len(longer))]
        b = longer[rng.integers(len(longer))]
        if (a, b) not in seen and len(a + b) <= 8:
            merges.append((a, b))
            seen.add((a, b))
            longer.append(a + b)
    for a, b in merges:
        if a + b not in vocab:
            vocab[a + b] = len(vocab)
    special = lambda t: {"id": vocab[t], "content": t, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True}
    tok = {
        "version": "1.0",
        # DNABERT-S's tokenizer.json (as vendored from the hub) enables truncation and fixed-length padding to
        # 2000; the transformers tokenizer switches both off per call unless asked, and so must metavec.
        "truncation": {"direction": "Right", "max_length": 2000, "strategy": "LongestFirst", "stride": 0},
        "padding": {"strategy": {"Fixed": 2000}, "direction": "Right", "pad_to_multiple_of": None, "pad_id": vocab["[PAD]"], "pad_type_id": 0, "pad_token": "[PAD]"},
        "added_tokens": [special(t) for t in SPECIALS],
        "normalizer": None,
        "pre_tokenizer": {"type": "Whitespace"},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "[SEP]", "type_id": 0}},
                     {"Sequence": {"id": "B", "type_id": 1}}, {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
            "special_tokens": {t: {"id": t, "ids": [vocab[t]], "tokens": [t]} for t in ("[CLS]", "[SEP]")},
        },
        "decoder": None,
        "model": {"type": "BPE", "dropout": None, "unk_token": "[UNK]", "continuing_subword_prefix": None, "end_of_word_suffix": None,
                  "fuse_unk": False, "byte_fallback": False, "vocab": vocab, "merges": [f"{a} {b}" for a, b in merges]},
    }
    return tok, len(vocab)


def init_weights(cfg, rng):
    H, I, V, n = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"], cfg["num_hidden_layers"]
    f = lambda *s, scale=0.2: (rng.standard_normal(s) * scale).astype(np.float32)
    w = {"word": f(V, H, scale=1.0), "type0": f(H), "emb_ln_g": 1 + f(H, scale=0.1), "emb_ln_b": f(H, scale=0.1)}
    for l in range(n):
        p = f"l{l}_"
        w.update({p + "wqkv": f(H, 3 * H, scale=1 / math.sqrt(H)), p + "bqkv": f(3 * H, scale=0.05), p + "wo": f(H, H, scale=1 / math.sqrt(H)), p + "bo": f(H, scale=0.05),
                  p + "ln1_g": 1 + f(H, scale=0.1), p + "ln1_b": f(H, scale=0.1), p + "wg": f(H, 2 * I, scale=1 / math.sqrt(H)),
                  p + "wmo": f(I, H, scale=1 / math.sqrt(I)), p + "bmo": f(H, scale=0.05), p + "ln2_g": 1 + f(H, scale=0.1), p + "ln2_b": f(H, scale=0.1)})
    return w


def reference(model_dir, sequences):
    from tokenizers import Tokenizer
    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    tok = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
    # as transformers' tokenizer(seq, truncation=True, max_length=...) does: no padding, truncation to the model's length
    tok.no_padding()
    tok.enable_truncation(max_length=cfg["max_position_embeddings"])
    w = load_weights(os.path.join(model_dir, "onnx", "model.onnx"))
    out = []
    for s in sequences:
        ids = tok.encode(s).ids
        out.append({"sequence": s, "ids": ids, "pooled": forward(cfg, w, np.array(ids)).mean(0).tolist()})
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", nargs="?")
    ap.add_argument("--reference", metavar="DIR")
    ap.add_argument("--hidden", type=int, default=32)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--intermediate", type=int, default=48)
    ap.add_argument("--vocab", type=int, default=64)
    ap.add_argument("--max-length", type=int, default=24)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--no-expected", action="store_true")
    a = ap.parse_args()
    if a.reference:
        json.dump(reference(a.reference, json.load(sys.stdin)["sequences"]), sys.stdout)
        return
    if not a.out:
        ap.error("OUT_DIR is required")
    rng = np.random.default_rng(a.seed)
    tok, vocab_size = build_tokenizer(a.vocab, rng)
    cfg = {"model_type": "bert", "architectures": ["BertModel"], "hidden_size": a.hidden, "num_hidden_layers": a.layers, "num_attention_heads": a.heads,
           "intermediate_size": a.intermediate, "vocab_size": vocab_size, "max_position_embeddings": a.max_length, "type_vocab_size": 2,
           "layer_norm_eps": 1e-12, "hidden_act": "gelu", "position_embedding_type": "alibi", "pad_token_id": SPECIALS.index("[PAD]"),
           "_comment": "random weights, DNABERT-2 architecture (ALiBi, gated GELU MLP), built by scripts/make-tiny-bert.py"}
    os.makedirs(a.out, exist_ok=True)
    json.dump(tok, open(os.path.join(a.out, "tokenizer.json"), "w"), indent=1)
    json.dump({"model_max_length": a.max_length, "pad_token": "[PAD]", "cls_token": "[CLS]", "sep_token": "[SEP]", "unk_token": "[UNK]", "mask_token": "[MASK]",
               "tokenizer_class": "PreTrainedTokenizerFast"}, open(os.path.join(a.out, "tokenizer_config.json"), "w"), indent=1)
    json.dump(cfg, open(os.path.join(a.out, "config.json"), "w"), indent=1)
    build_onnx(cfg, init_weights(cfg, rng), os.path.join(a.out, "onnx", "model.onnx"))
    if a.no_expected:
        return
    # Reference values: short, long (truncated), with N, a single base, and near-duplicates.
    srng = np.random.default_rng(a.seed + 1)
    rand = lambda n: "".join("ACGT"[i] for i in srng.integers(0, 4, n))
    base = rand(60)
    seqs = [base, base[:30] + ("A" if base[30] != "A" else "C") + base[31:], rand(150), rand(12) + "N" + rand(12), "G", rand(7), base[::-1]]
    json.dump({"generator": "scripts/make-tiny-bert.py " + " ".join(sys.argv[2:]), "cases": reference(a.out, seqs)}, open(os.path.join(a.out, "expected.json"), "w"), indent=1)


if __name__ == "__main__":
    main()
