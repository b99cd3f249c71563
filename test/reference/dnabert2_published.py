#!/usr/bin/env python3
"""An independent check of scripts/export-dnabert.py + scripts/mosaicbert.py against DNABERT-2's published
modelling code, without torch or the real weights.

The forward pass below is written from bert_layers.py as published with the checkpoints (zhihan1996/DNABERT-2-117M
and zhihan1996/DNABERT-S on the Hugging Face hub; read here in the copy MAGICS-LAB/DNABERT_S
evaluate/model_codes/bert_layers.py @ e33f440f478154f1f9b4e3b332f15358c1a9abe9), following its structure and
its tensor layout, not mosaicbert.py's:
  - BertEmbeddings: word_embeddings(ids) + token_type_embeddings(zeros), LayerNorm(eps=config.layer_norm_eps);
    no position embeddings; dropout is inactive in eval().
  - BertEncoder: extended mask (1 - mask) * -10000, ALiBi built by rebuild_alibi_tensor at
    alibi_starting_size (512) and sliced: slopes[h] * -|j - i|; bias = mask + ALiBi; tokens unpadded.
  - BertUnpadSelfAttention: Wqkv (nn.Linear, weight [3H, H]) on the unpadded tokens, pad_input (zeros at
    padding), rearrange 'b s (t h d) -> b s t h d', q k^T / sqrt(head size) + bias, softmax, @ v, unpad.
  - BertSelfOutput: LayerNorm(dense(attn) + input) (post-LN).
  - BertGatedLinearUnitMLP: gated_layers (no bias, [2I, H]); gated = first I columns, non_gated = the rest;
    nn.GELU(approximate='none')(gated) * non_gated; LayerNorm(wo(.) + input).
  - BertModel output [0] = last layer padded back with zeros; DNABERT-S's get_mean_embeddings (train/pretrain/
    models/dnabert_s.py) and evaluate/utils.py pool it as sum(h * mask) / sum(mask): special tokens included.

  dnabert2_published.py OUT_DIR --heads N [--layout bertmodel|maskedlm] [--seed S] < {"sequences": [...]}
      Builds a random state dict with the checkpoint's tensor names and shapes for a tiny config (vocabulary of
      the committed tiny-bert tokenizer), exports it with export-dnabert.weights_from_state_dict and
      mosaicbert.build_onnx into OUT_DIR (a metavec model directory), and prints the reference computed here:
      {"ids": [[..]], "tokens": [[[..]]], "pooled": [[..]]} (one padded batch of all sequences).
  dnabert2_published.py --self-check
      ALiBi slopes against their closed form; weights_from_state_dict's and check_loading_info's refusals.

Needs numpy, onnx and tokenizers. Test-only: test/unit/embed/onnx/embedder.published.test.ts runs it.
"""
import argparse
import importlib.util
import json
import math
import os
import shutil
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import mosaicbert  # noqa: E402  (the system under test: build_onnx, alibi_slopes)

_spec = importlib.util.spec_from_file_location("export_dnabert", os.path.join(ROOT, "scripts", "export-dnabert.py"))
export = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(export)

TOKENIZER_DIR = os.path.join(ROOT, "test", "fixtures", "tiny-bert")


def tiny_config(heads, vocab):
    # The published config.json (DNABERT-S evaluate/model_codes/config.json) with tiny sizes. layer_norm_eps is
    # 1e-12 there; a large one here (with small activations) makes a graph that ignored the config's eps fail.
    return {"_name_or_path": "zhihan1996/DNABERT-2-117M", "alibi_starting_size": 512, "architectures": ["BertModel"],
            "attention_probs_dropout_prob": 0.0, "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "hidden_size": 24,
            "intermediate_size": 40, "layer_norm_eps": 1e-3, "max_position_embeddings": 512, "model_type": "bert",
            "num_attention_heads": heads, "num_hidden_layers": 2, "pad_token_id": 0, "position_embedding_type": "absolute",
            "type_vocab_size": 2, "vocab_size": vocab}


def checkpoint_state_dict(cfg, rng, layout):
    """Random tensors named and shaped as bert_layers.py's modules hold them (nn.Linear weight = [out, in]).

    layout 'bertmodel': AutoModel(...).state_dict() (what export-dnabert.py reads; DNABERT-S's pytorch_model.bin);
    layout 'maskedlm': a BertForMaskedLM checkpoint ('bert.' prefix, MLM head, no pooler; DNABERT-2's file)."""
    H, I, V, T = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"], cfg["type_vocab_size"]
    r = lambda *s, scale=1.0: rng.standard_normal(s) * scale
    sd = {"embeddings.word_embeddings.weight": r(V, H, scale=0.05), "embeddings.token_type_embeddings.weight": r(T, H, scale=0.05),
          "embeddings.LayerNorm.weight": 1 + r(H, scale=0.1), "embeddings.LayerNorm.bias": r(H, scale=0.1)}
    for l in range(cfg["num_hidden_layers"]):
        s = f"encoder.layer.{l}."
        sd.update({s + "attention.self.Wqkv.weight": r(3 * H, H, scale=1 / math.sqrt(H)), s + "attention.self.Wqkv.bias": r(3 * H, scale=0.1),
                   s + "attention.output.dense.weight": r(H, H, scale=0.3 / math.sqrt(H)), s + "attention.output.dense.bias": r(H, scale=0.02),
                   s + "attention.output.LayerNorm.weight": 1 + r(H, scale=0.1), s + "attention.output.LayerNorm.bias": r(H, scale=0.02),
                   s + "mlp.gated_layers.weight": r(2 * I, H, scale=3 / math.sqrt(H)),
                   s + "mlp.wo.weight": r(H, I, scale=0.3 / math.sqrt(I)), s + "mlp.wo.bias": r(H, scale=0.02),
                   s + "mlp.layernorm.weight": 1 + r(H, scale=0.1), s + "mlp.layernorm.bias": r(H, scale=0.02)})
    if layout == "bertmodel":
        sd.update({"pooler.dense.weight": r(H, H), "pooler.dense.bias": r(H)})
        return sd
    sd = {"bert." + k: v for k, v in sd.items()}
    sd.update({"cls.predictions.bias": r(V), "cls.predictions.transform.dense.weight": r(H, H), "cls.predictions.transform.dense.bias": r(H),
               "cls.predictions.transform.LayerNorm.weight": r(H), "cls.predictions.transform.LayerNorm.bias": r(H),
               "cls.predictions.decoder.weight": sd["bert.embeddings.word_embeddings.weight"], "cls.predictions.decoder.bias": r(V)})
    return sd


# ---- the published computation (float64) ----

def linear(x, w, b=None):
    y = x @ w.T
    return y if b is None else y + b


def norm(x, g, b, eps):
    mu = x.mean(-1, keepdims=True)
    var = x.var(-1, keepdims=True)  # biased, as torch.nn.LayerNorm
    return (x - mu) / np.sqrt(var + eps) * g + b


def gelu_exact(x):
    return 0.5 * x * (1.0 + np.vectorize(math.erf)(x / math.sqrt(2.0)))


def published_slopes(n):
    # rebuild_alibi_tensor._get_alibi_head_slopes, in closed form: for a power of two n, head i (0-based) has
    # 2^(-8 (i + 1) / n); otherwise the c = 2^floor(log2 n) slopes of c heads, then every other slope of 2c heads
    # (the odd powers 2^(-8 (2j + 1) / (2c))) for the remaining n - c heads.
    c = 2 ** int(math.floor(math.log2(n)))
    first = [2.0 ** (-8.0 * (i + 1) / c) for i in range(c)]
    return first + [2.0 ** (-8.0 * (2 * j + 1) / (2 * c)) for j in range(n - c)]


def published_forward(sd, cfg, ids, mask):
    sd = {k[5:] if k.startswith("bert.") else k: np.asarray(v, np.float64) for k, v in sd.items()}
    B, S = ids.shape
    H, I, nh, eps = cfg["hidden_size"], cfg["intermediate_size"], cfg["num_attention_heads"], cfg["layer_norm_eps"]
    hd = H // nh
    emb = sd["embeddings.word_embeddings.weight"][ids] + sd["embeddings.token_type_embeddings.weight"][np.zeros_like(ids)]
    emb = norm(emb, sd["embeddings.LayerNorm.weight"], sd["embeddings.LayerNorm.bias"], eps)
    ext = (1.0 - mask[:, None, None, :].astype(np.float64)) * -10000.0
    size = max(cfg["alibi_starting_size"], S)
    rel = np.abs(np.arange(size)[None, :] - np.arange(size)[:, None])
    alibi = np.array(published_slopes(nh))[:, None, None] * -rel[None]
    bias = ext + alibi[None, :, :S, :S]
    keep = np.nonzero(mask.reshape(-1))[0]  # unpad_input
    h = emb.reshape(B * S, H)[keep]
    for l in range(cfg["num_hidden_layers"]):
        p = f"encoder.layer.{l}."
        qkv = linear(h, sd[p + "attention.self.Wqkv.weight"], sd[p + "attention.self.Wqkv.bias"])
        padded = np.zeros((B * S, 3 * H))
        padded[keep] = qkv  # pad_input
        padded = padded.reshape(B, S, 3, nh, hd)
        q = padded[:, :, 0].transpose(0, 2, 1, 3)
        k = padded[:, :, 1].transpose(0, 2, 3, 1)
        v = padded[:, :, 2].transpose(0, 2, 1, 3)
        scores = q @ k / math.sqrt(hd) + bias
        probs = np.exp(scores - scores.max(-1, keepdims=True))
        probs /= probs.sum(-1, keepdims=True)
        att = (probs @ v).transpose(0, 2, 1, 3).reshape(B * S, H)[keep]  # unpad_input_only, 'nnz h d -> nnz (h d)'
        h = norm(linear(att, sd[p + "attention.output.dense.weight"], sd[p + "attention.output.dense.bias"]) + h,
                 sd[p + "attention.output.LayerNorm.weight"], sd[p + "attention.output.LayerNorm.bias"], eps)
        g = linear(h, sd[p + "mlp.gated_layers.weight"])
        m = gelu_exact(g[:, :I]) * g[:, I:]
        h = norm(linear(m, sd[p + "mlp.wo.weight"], sd[p + "mlp.wo.bias"]) + h, sd[p + "mlp.layernorm.weight"], sd[p + "mlp.layernorm.bias"], eps)
    out = np.zeros((B * S, H))
    out[keep] = h  # pad_input: zeros at padding
    return out.reshape(B, S, H)


# ---- modes ----

def build(out_dir, heads, layout, seed, sequences):
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(os.path.join(TOKENIZER_DIR, "tokenizer.json"))
    cfg = tiny_config(heads, tok.get_vocab_size())
    sd = checkpoint_state_dict(cfg, np.random.default_rng(seed), layout)
    os.makedirs(os.path.join(out_dir, "onnx"), exist_ok=True)
    # what export-dnabert.py's main() does with the checkpoint's config.json and state dict
    json.dump(cfg, open(os.path.join(out_dir, "config.json"), "w"), indent=1)
    # tokenizer.json only (tokenizer_config.json is optional): the length limit is then config.json's 512
    shutil.copyfile(os.path.join(TOKENIZER_DIR, "tokenizer.json"), os.path.join(out_dir, "tokenizer.json"))
    mosaicbert.build_onnx(cfg, export.weights_from_state_dict(sd, cfg), os.path.join(out_dir, "onnx", "model.onnx"))
    # the transformers tokenizer as DNABERT-S's evaluate/utils.py calls it: truncation to max_length, padding='longest'
    tok.no_padding()
    tok.enable_truncation(max_length=cfg["max_position_embeddings"])
    ids = [tok.encode(s).ids for s in sequences]
    S = max(len(i) for i in ids)
    pad = tok.token_to_id("[PAD]")
    batch = np.array([i + [pad] * (S - len(i)) for i in ids], np.int64)
    mask = np.array([[1] * len(i) + [0] * (S - len(i)) for i in ids], np.int64)
    hidden = published_forward(sd, cfg, batch, mask)
    pooled = (hidden * mask[:, :, None]).sum(1) / mask.sum(1, keepdims=True)
    return {"ids": ids, "tokens": [hidden[b, :len(i)].tolist() for b, i in enumerate(ids)], "pooled": pooled.tolist()}


def refused(fn, *want):
    try:
        fn()
    except SystemExit as e:
        msg = str(e.code)
        for w in want:
            if w not in msg:
                raise AssertionError(f"refusal does not mention {w!r}: {msg}")
        return
    raise AssertionError(f"not refused (expected {want})")


def self_check():
    # 1. ALiBi slopes: DNABERT-2 has 12 heads (not a power of two): 2^-1..2^-8, then 2^-0.5, 2^-1.5, 2^-2.5, 2^-3.5
    twelve = [2.0 ** -e for e in (1, 2, 3, 4, 5, 6, 7, 8, 0.5, 1.5, 2.5, 3.5)]
    assert np.allclose(mosaicbert.alibi_slopes(12), twelve, rtol=1e-12, atol=0), mosaicbert.alibi_slopes(12)
    assert np.allclose(published_slopes(12), twelve, rtol=1e-12, atol=0)
    for n in range(1, 33):
        assert np.allclose(mosaicbert.alibi_slopes(n), published_slopes(n), rtol=1e-12, atol=0), n
    # 2. the mapping is strict: missing, misshaped, extra and stock-BERT tensors are refused
    cfg = tiny_config(12, 40)
    sd = checkpoint_state_dict(cfg, np.random.default_rng(1), "bertmodel")
    w = export.weights_from_state_dict(sd, cfg)
    w2 = export.weights_from_state_dict(checkpoint_state_dict(cfg, np.random.default_rng(1), "maskedlm"), cfg)
    assert w.keys() == w2.keys() and all(np.array_equal(w[k], w2[k]) for k in w), "BertModel and BertForMaskedLM layouts differ"
    # the gated half is the first intermediate_size rows of gated_layers.weight (gelu(gated) * non_gated)
    assert np.array_equal(w["l0_wg"][:, :cfg["intermediate_size"]], sd["encoder.layer.0.mlp.gated_layers.weight"][:cfg["intermediate_size"]].T.astype(np.float32))
    assert np.array_equal(w["type0"], sd["embeddings.token_type_embeddings.weight"][0].astype(np.float32))
    drop = {k: v for k, v in sd.items() if k != "encoder.layer.1.mlp.wo.bias"}
    refused(lambda: export.weights_from_state_dict(drop, cfg), "missing encoder.layer.1.mlp.wo.bias")
    extra = dict(sd, **{"encoder.layer.0.mlp.gated_layers.bias": np.zeros(80)})
    refused(lambda: export.weights_from_state_dict(extra, cfg), "unexpected encoder.layer.0.mlp.gated_layers.bias")
    bad = dict(sd, **{"encoder.layer.0.attention.self.Wqkv.weight": np.zeros((24, 72))})
    refused(lambda: export.weights_from_state_dict(bad, cfg), "encoder.layer.0.attention.self.Wqkv.weight has shape [24, 72], expected [72, 24]")
    stock = {k.replace("attention.self.Wqkv", "attention.self.query"): v for k, v in sd.items()}
    refused(lambda: export.weights_from_state_dict(stock, cfg), "missing encoder.layer.0.attention.self.Wqkv.weight", "unexpected encoder.layer.0.attention.self.query.weight")
    buffers = dict(sd, **{"embeddings.token_type_ids": np.zeros(512, np.int64)})
    export.weights_from_state_dict(buffers, cfg)
    # 3. the loading report: only the pooler / MLM head may be absent
    export.check_loading_info({"missing_keys": ["pooler.dense.weight", "pooler.dense.bias"], "unexpected_keys": ["cls.predictions.bias"], "mismatched_keys": [], "error_msgs": []})
    refused(lambda: export.check_loading_info({"missing_keys": ["pooler.dense.bias", "encoder.layer.3.mlp.wo.weight"], "mismatched_keys": [], "error_msgs": []}),
            "not in the checkpoint: encoder.layer.3.mlp.wo.weight")
    refused(lambda: export.check_loading_info({"missing_keys": [], "mismatched_keys": [("embeddings.word_embeddings.weight", (4096, 768), (30522, 768))], "error_msgs": []}),
            "shape mismatch")
    print("self-check ok: ALiBi slopes (1-32 heads, 12 explicitly), strict weight mapping, loading report")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", nargs="?")
    ap.add_argument("--heads", type=int, default=12)
    ap.add_argument("--layout", choices=("bertmodel", "maskedlm"), default="bertmodel")
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--self-check", action="store_true")
    a = ap.parse_args()
    if a.self_check:
        self_check()
        return
    if not a.out:
        ap.error("OUT_DIR is required")
    json.dump(build(a.out, a.heads, a.layout, a.seed, json.load(sys.stdin)["sequences"]), sys.stdout)


if __name__ == "__main__":
    main()
