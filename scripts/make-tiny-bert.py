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

SPECIALS = ["[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]"]  # DNABERT-2's order and ids
BASES = ["A", "C", "G", "T", "N"]


def alibi_slopes(n):
    def pow2(n):
        start = 2 ** (-(2 ** -(math.log2(n) - 3)))
        return [start * start ** i for i in range(n)]
    if math.log2(n).is_integer():
        return pow2(n)
    c = 2 ** math.floor(math.log2(n))
    return pow2(c) + alibi_slopes(2 * c)[0::2][: n - c]


def build_tokenizer(vocab_size, rng):
    vocab = {t: i for i, t in enumerate(SPECIALS + BASES)}
    merges = []
    pieces = ["A", "C", "G", "T"]
    # merges: all dinucleotides, then random pairs of existing pieces (longer tokens), as BPE training would
    for a in "ACGT":
        for b in "ACGT":
            merges.append((a, b))
    while len(vocab) + len(merges) < vocab_size:
        longer = [p for p in pieces + [a + b for a, b in merges] if len(p) >= 2]
        a = longer[rng.integers(len(longer))]
        b = longer[rng.integers(len(longer))]
        if (a, b) not in merges and len(a + b) <= 8:
            merges.append((a, b))
    for a, b in merges:
        if a + b not in vocab:
            vocab[a + b] = len(vocab)
    special = lambda t: {"id": vocab[t], "content": t, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True}
    tok = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
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


def build_onnx(cfg, w, path):
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    H, I, nh, n = cfg["hidden_size"], cfg["intermediate_size"], cfg["num_attention_heads"], cfg["num_hidden_layers"]
    hd = H // nh
    eps = cfg["layer_norm_eps"]
    inits, nodes = [], []
    def const(name, arr):
        inits.append(numpy_helper.from_array(np.asarray(arr), name))
        return name
    for k, v in w.items():
        const(k, v)
    def node(op, ins, outs, **kw):
        nodes.append(helper.make_node(op, ins, outs, **kw))
        return outs[0]
    const("i64_1", np.array([1], np.int64)); const("i64_0", np.array([0], np.int64))
    const("shape_bl_nh_hd", np.array([0, 0, nh, hd], np.int64)); const("shape_bl_h", np.array([0, 0, H], np.int64))
    const("split3", np.array([H, H, H], np.int64)); const("split2", np.array([I, I], np.int64))
    const("f_one", np.array(1.0, np.float32)); const("f_neg", np.array(-10000.0, np.float32)); const("f_half", np.array(0.5, np.float32))
    const("f_rsqrt2", np.array(1 / math.sqrt(2), np.float32)); const("f_scale", np.array(1 / math.sqrt(hd), np.float32))
    const("neg_slopes", (-np.array(alibi_slopes(nh), np.float32)).reshape(nh, 1, 1))
    # embeddings: word + token type 0 (no position embeddings: ALiBi), LayerNorm
    node("Gather", ["word", "input_ids"], ["emb_w"])
    node("Add", ["emb_w", "type0"], ["emb"])
    h = node("LayerNormalization", ["emb", "emb_ln_g", "emb_ln_b"], ["h0"], axis=-1, epsilon=eps)
    # attention bias: padding mask (-10000 where mask = 0) + ALiBi (-slope * |i - j|)
    node("Cast", ["attention_mask"], ["mask_f"], to=TensorProto.FLOAT)
    node("Sub", ["f_one", "mask_f"], ["mask_inv"]); node("Mul", ["mask_inv", "f_neg"], ["mask_neg"])
    node("Unsqueeze", ["mask_neg", "i64_1"], ["mask_b1"]); node("Unsqueeze", ["mask_b1", "i64_1"], ["mask_bias"])  # [B,1,1,L]
    node("Shape", ["input_ids"], ["ids_shape"]); node("Gather", ["ids_shape", "i64_1"], ["L1"]); node("Squeeze", ["L1", "i64_0"], ["L"])
    const("i64_s0", np.array(0, np.int64)); const("i64_s1", np.array(1, np.int64))
    node("Range", ["i64_s0", "L", "i64_s1"], ["pos"]); node("Cast", ["pos"], ["pos_f"], to=TensorProto.FLOAT)
    node("Unsqueeze", ["pos_f", "i64_0"], ["pos_row"]); node("Unsqueeze", ["pos_f", "i64_1"], ["pos_col"])
    node("Sub", ["pos_row", "pos_col"], ["rel"]); node("Abs", ["rel"], ["rel_abs"])
    node("Mul", ["neg_slopes", "rel_abs"], ["alibi"])  # [nh, L, L]
    node("Add", ["mask_bias", "alibi"], ["bias"])  # [B, nh, L, L]
    for l in range(n):
        p = f"l{l}_"
        qkv = node("Add", [node("MatMul", [h, p + "wqkv"], [p + "qkv0"]), p + "bqkv"], [p + "qkv"])
        nodes.append(helper.make_node("Split", [qkv, "split3"], [p + "q0", p + "k0", p + "v0"], axis=2))
        heads = {}
        for t in "qkv":
            r = node("Reshape", [p + t + "0", "shape_bl_nh_hd"], [p + t + "r"])
            heads[t] = node("Transpose", [r], [p + t], perm=[0, 2, 3, 1] if t == "k" else [0, 2, 1, 3])
        s = node("MatMul", [heads["q"], heads["k"]], [p + "s0"])
        s = node("Mul", [s, "f_scale"], [p + "s1"]); s = node("Add", [s, "bias"], [p + "s"])
        a = node("Softmax", [s], [p + "a"], axis=-1)
        c = node("MatMul", [a, heads["v"]], [p + "c0"]); c = node("Transpose", [c], [p + "c1"], perm=[0, 2, 1, 3])
        c = node("Reshape", [c, "shape_bl_h"], [p + "c"])
        o = node("Add", [node("MatMul", [c, p + "wo"], [p + "o0"]), p + "bo"], [p + "o1"])
        o = node("Add", [o, h], [p + "o2"])
        h1 = node("LayerNormalization", [o, p + "ln1_g", p + "ln1_b"], [p + "h1"], axis=-1, epsilon=eps)
        g = node("MatMul", [h1, p + "wg"], [p + "g"])
        nodes.append(helper.make_node("Split", [g, "split2"], [p + "gated", p + "nongated"], axis=2))
        # exact GELU: 0.5 x (1 + erf(x / sqrt 2))
        e = node("Erf", [node("Mul", [p + "gated", "f_rsqrt2"], [p + "ge0"])], [p + "ge1"])
        e = node("Mul", [node("Mul", [node("Add", [e, "f_one"], [p + "ge2"]), p + "gated"], [p + "ge3"]), "f_half"], [p + "gelu"])
        m = node("Mul", [e, p + "nongated"], [p + "m"])
        m = node("Add", [node("MatMul", [m, p + "wmo"], [p + "mo0"]), p + "bmo"], [p + "mo1"])
        m = node("Add", [m, h1], [p + "mo2"])
        h = node("LayerNormalization", [m, p + "ln2_g", p + "ln2_b"], ["last_hidden_state" if l == n - 1 else p + "h2"], axis=-1, epsilon=eps)
    graph = helper.make_graph(
        nodes, "tiny_dnabert",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"]), helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "seq"])],
        [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, ["batch", "seq", H])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="metavec make-tiny-bert.py")
    model.ir_version = 8
    onnx.checker.check_model(model)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    onnx.save(model, path)


def load_weights(path):
    import onnx
    from onnx import numpy_helper
    m = onnx.load(path)
    return {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}


def layer_norm(x, g, b, eps):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * g + b


def erf(x):
    return np.vectorize(math.erf)(x)


def forward(cfg, w, ids):
    """One unpadded sequence (float64) -> [L, H] token vectors."""
    H, I, nh, n = cfg["hidden_size"], cfg["intermediate_size"], cfg["num_attention_heads"], cfg["num_hidden_layers"]
    hd, eps = H // nh, cfg["layer_norm_eps"]
    W = {k: v.astype(np.float64) for k, v in w.items()}
    L = len(ids)
    h = layer_norm(W["word"][ids] + W["type0"], W["emb_ln_g"], W["emb_ln_b"], eps)
    pos = np.arange(L)
    alibi = -np.array(alibi_slopes(nh))[:, None, None] * np.abs(pos[None, :] - pos[:, None])[None]
    for l in range(n):
        p = f"l{l}_"
        qkv = h @ W[p + "wqkv"] + W[p + "bqkv"]
        q, k, v = (qkv[:, i * H:(i + 1) * H].reshape(L, nh, hd).transpose(1, 0, 2) for i in range(3))
        s = q @ k.transpose(0, 2, 1) / math.sqrt(hd) + alibi
        a = np.exp(s - s.max(-1, keepdims=True)); a /= a.sum(-1, keepdims=True)
        c = (a @ v).transpose(1, 0, 2).reshape(L, H)
        h1 = layer_norm(c @ W[p + "wo"] + W[p + "bo"] + h, W[p + "ln1_g"], W[p + "ln1_b"], eps)
        g = h1 @ W[p + "wg"]
        gated, non = g[:, :I], g[:, I:]
        m = 0.5 * gated * (1 + erf(gated / math.sqrt(2))) * non
        h = layer_norm(m @ W[p + "wmo"] + W[p + "bmo"] + h1, W[p + "ln2_g"], W[p + "ln2_b"], eps)
    return h


def reference(model_dir, sequences):
    from tokenizers import Tokenizer
    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    tok = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
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
