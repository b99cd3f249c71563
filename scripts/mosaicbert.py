"""MosaicBERT / DNABERT-2 architecture as an ONNX graph (onnx.helper) and as a numpy forward pass.

Shared by scripts/make-tiny-bert.py (random weights: the test fixture and the benchmark model) and
scripts/export-dnabert.py (the real DNABERT-2 / DNABERT-S weights), so the graph the tests check against numpy
is the graph users get. Weights use the names below (matrices as [in, out]):
  word [V, H], type0 [H], emb_ln_g/b [H]; per layer l: l{l}_wqkv [H, 3H] (q | k | v, heads contiguous),
  l{l}_bqkv, l{l}_wo [H, H], l{l}_bo, l{l}_ln1_g/b, l{l}_wg [H, 2I] (gated | non-gated, no bias),
  l{l}_wmo [I, H], l{l}_bmo, l{l}_ln2_g/b.
Computation (post-LN BERT without position embeddings): h = LN(word[ids] + type0); per layer:
  attention with bias (1 - mask) * -10000 + ALiBi (-slope_head * |i - j|), h1 = LN(attn @ wo + bo + h),
  h = LN((gelu(h1 @ wg[:, :I]) * (h1 @ wg[:, I:])) @ wmo + bmo + h1); output last_hidden_state [B, L, H].
"""
import math
import os

import numpy as np


def alibi_slopes(n):
    def pow2(n):
        start = 2 ** (-(2 ** -(math.log2(n) - 3)))
        return [start * start ** i for i in range(n)]
    if math.log2(n).is_integer():
        return pow2(n)
    c = 2 ** math.floor(math.log2(n))
    return pow2(c) + alibi_slopes(2 * c)[0::2][: n - c]


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


