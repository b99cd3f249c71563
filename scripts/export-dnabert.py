#!/usr/bin/env python3
"""Exports DNABERT-2 (zhihan1996/DNABERT-2-117M) or DNABERT-S (zhihan1996/DNABERT-S) from the Hugging Face hub
into the model directory `metavec prep --embed dnabert2|dnaberts|onnx:DIR` reads:

  OUT/config.json  OUT/tokenizer.json  OUT/tokenizer_config.json  OUT/onnx/model.onnx  OUT/metavec-export.json

  pip install torch transformers einops onnx onnxruntime numpy huggingface_hub
  python3 scripts/export-dnabert.py dnabert2 ~/.metavec/models/dnabert2
  python3 scripts/export-dnabert.py dnaberts ~/.metavec/models/dnaberts [--revision COMMIT]

Run once on a machine with hub access, then copy OUT anywhere (METAVEC_MODELS); metavec never downloads.

DNABERT-2's modelling code (trust_remote_code: bert_layers.py, MosaicBERT) computes attention with a Triton
flash-attention kernel when `triton` imports and unpads sequences with data-dependent indexing; neither
exports well. This script does not trace that code. It blocks `triton` (so the checkpoint's own code runs
its plain PyTorch attention path, the reference), reads the checkpoint's weights, and writes the same
computation as a padded ONNX graph with the graph builder in scripts/mosaicbert.py (ALiBi biases and the
padding mask as explicit additions, gated-GELU MLP) — the builder the test suite checks against numpy on a
tiny model. It then runs the ONNX graph with onnxruntime on a padded batch of DNA sequences and compares
every real token's vector with the checkpoint's own PyTorch output (sequence by sequence, unpadded); the
export fails if they differ by more than --tolerance.
"""
import argparse
import json
import os
import shutil
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mosaicbert import build_onnx  # noqa: E402

CHECKPOINTS = {"dnabert2": "zhihan1996/DNABERT-2-117M", "dnaberts": "zhihan1996/DNABERT-S"}
TEST_SEQUENCES = [
    "ACGTAGCATCGGATCTATCTATCGACACTTGGTTATCGATCTACGAGCATCTCGTTAGC",
    "ATTGGCCGCTAGCTAGGCTTACGATCGATCGGCGCGATATATTAGCGCGCGATCGATCGATCGATCGTAGCTAGCTACGACTAGCTAGCATCGACTAGCTAGCATCGACTGATCGATCGACTAGCTAGCTAGCATCGATC",
    "TTTTTTTTTTAAAAAAAAAACCCCCGGGGG",
    "GATTACA",
    "ACGTNNNNACGTACGTAGGCTAGCTAGCTTTAGCCGATCGAT",
]


# Tensors of the checkpoint's BertModel (bert_layers.py) that the embedding does not use: the [CLS] pooler
# (BertModel.pooler, random in DNABERT-2 whose checkpoint is a BertForMaskedLM) and, in a BertForMaskedLM state
# dict, the masked-LM head.
UNUSED_PREFIXES = ("pooler.", "cls.")


def weights_from_state_dict(sd, cfg):
    """Checkpoint tensors (numpy, names as in bert_layers.py; optional 'bert.' prefix) -> mosaicbert names.

    Strict: every tensor of the embeddings and encoder must be consumed with the shape bert_layers.py gives it
    for cfg, so a checkpoint of another layout (an extra bias, a renamed module) fails here instead of
    exporting a graph that silently ignores it."""
    sd = {k[5:] if k.startswith("bert.") else k: v for k, v in sd.items()}
    H, I, V = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    used, problems = set(), []

    def take(name, shape):
        if name not in sd:
            problems.append(f"missing {name}")
            return np.zeros(shape, np.float32)
        a = np.asarray(sd[name])
        used.add(name)
        if tuple(a.shape) != tuple(shape):
            problems.append(f"{name} has shape {list(a.shape)}, expected {list(shape)}")
            return np.zeros(shape, np.float32)
        return a

    f32 = lambda a: np.ascontiguousarray(a, dtype=np.float32)
    tt = take("embeddings.token_type_embeddings.weight", (cfg.get("type_vocab_size", 2), H))
    w = {
        "word": f32(take("embeddings.word_embeddings.weight", (V, H))),
        "type0": f32(tt[0]),  # BertModel.forward uses token_type_ids = zeros when none are given
        "emb_ln_g": f32(take("embeddings.LayerNorm.weight", (H,))),
        "emb_ln_b": f32(take("embeddings.LayerNorm.bias", (H,))),
    }
    for l in range(cfg["num_hidden_layers"]):
        s, p = f"encoder.layer.{l}.", f"l{l}_"
        # nn.Linear stores [out, in]; the graph multiplies x @ W with W [in, out]
        w[p + "wqkv"] = f32(take(s + "attention.self.Wqkv.weight", (3 * H, H)).T)
        w[p + "bqkv"] = f32(take(s + "attention.self.Wqkv.bias", (3 * H,)))
        w[p + "wo"] = f32(take(s + "attention.output.dense.weight", (H, H)).T)
        w[p + "bo"] = f32(take(s + "attention.output.dense.bias", (H,)))
        w[p + "ln1_g"] = f32(take(s + "attention.output.LayerNorm.weight", (H,)))
        w[p + "ln1_b"] = f32(take(s + "attention.output.LayerNorm.bias", (H,)))
        w[p + "wg"] = f32(take(s + "mlp.gated_layers.weight", (2 * I, H)).T)  # Linear(H, 2I, bias=False)
        w[p + "wmo"] = f32(take(s + "mlp.wo.weight", (H, I)).T)
        w[p + "bmo"] = f32(take(s + "mlp.wo.bias", (H,)))
        w[p + "ln2_g"] = f32(take(s + "mlp.layernorm.weight", (H,)))
        w[p + "ln2_b"] = f32(take(s + "mlp.layernorm.bias", (H,)))
    # integer buffers (token_type_ids / position_ids zeros, if a transformers version persists them) are not weights
    left = sorted(k for k in sd if k not in used and not k.startswith(UNUSED_PREFIXES) and np.asarray(sd[k]).dtype.kind == "f")
    problems += [f"unexpected {k}" for k in left]
    if problems:
        raise SystemExit("export: the checkpoint's weights do not have DNABERT-2's layout (bert_layers.py): "
                         + "; ".join(problems[:8]) + (f"; ... {len(problems) - 8} more" if len(problems) > 8 else ""))
    return w


def check_loading_info(info):
    """from_pretrained(..., output_loading_info=True)'s report -> error unless only unused tensors were absent.

    transformers initialises missing weights randomly with a warning only (e.g. when the stock BertModel is
    picked instead of bert_layers.py, MAGICS-LAB/DNABERT_2 issue #31); the ONNX-vs-PyTorch check would then
    compare two copies of the same random weights and pass."""
    missing = [k for k in info.get("missing_keys", []) if not (k[5:] if k.startswith("bert.") else k).startswith(UNUSED_PREFIXES)]
    bad = [f"not in the checkpoint: {k}" for k in missing]
    bad += [f"shape mismatch: {m}" for m in info.get("mismatched_keys", [])]
    bad += [f"error: {m}" for m in info.get("error_msgs", [])]
    if bad:
        raise SystemExit("export: the checkpoint did not load completely (transformers would use random weights): "
                         + "; ".join(str(b) for b in bad[:8]) + (f"; ... {len(bad) - 8} more" if len(bad) > 8 else ""))


def load_reference(repo, revision):
    # No Triton: bert_layers.py then sets flash_attn_qkvpacked_func = None and uses PyTorch attention.
    sys.modules["triton"] = None
    import torch
    from huggingface_hub import snapshot_download
    from transformers import AutoModel, AutoTokenizer
    from transformers.models.bert.configuration_bert import BertConfig

    path = snapshot_download(repo, revision=revision)
    tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=True)
    try:
        model, info = AutoModel.from_pretrained(path, trust_remote_code=True, output_loading_info=True)
    except ValueError:
        # transformers >= 4.3x refuses the checkpoint's config class for its remote model class; the
        # documented workaround is to pass a plain BertConfig.
        model, info = AutoModel.from_pretrained(path, trust_remote_code=True, config=BertConfig.from_pretrained(path), output_loading_info=True)
    check_loading_info(info)
    model.eval()
    module = sys.modules[type(model).__module__]
    if getattr(module, "flash_attn_qkvpacked_func", None) is not None:
        raise SystemExit("export: the checkpoint code still found a flash-attention kernel; uninstall triton and retry")
    return torch, path, tokenizer, model


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", choices=sorted(CHECKPOINTS))
    ap.add_argument("out")
    ap.add_argument("--revision", default=None, help="hub commit or tag (default: the current main)")
    ap.add_argument("--tolerance", type=float, default=2e-3, help="max |onnx - pytorch| over token vectors")
    a = ap.parse_args()
    repo = CHECKPOINTS[a.model]
    torch, path, tokenizer, model = load_reference(repo, a.revision)
    cfg = json.load(open(os.path.join(path, "config.json")))
    cfg.setdefault("layer_norm_eps", 1e-12)
    sd = {k: v.detach().cpu().numpy() for k, v in model.state_dict().items()}
    os.makedirs(os.path.join(a.out, "onnx"), exist_ok=True)
    model_path = os.path.join(a.out, "onnx", "model.onnx")
    build_onnx(cfg, weights_from_state_dict(sd, cfg), model_path)
    for f in ("config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        if os.path.exists(os.path.join(path, f)):
            shutil.copyfile(os.path.join(path, f), os.path.join(a.out, f))
    if not os.path.exists(os.path.join(a.out, "tokenizer.json")):
        tokenizer.backend_tokenizer.save(os.path.join(a.out, "tokenizer.json"))

    # Check: padded batch through onnxruntime vs each sequence alone through the checkpoint's PyTorch code.
    import onnxruntime as ort
    enc = tokenizer(TEST_SEQUENCES, padding=True, return_tensors="np")
    ids, mask = enc["input_ids"].astype(np.int64), enc["attention_mask"].astype(np.int64)
    sess = ort.InferenceSession(model_path, providers=["CPUExecutionProvider"])
    got = sess.run(["last_hidden_state"], {"input_ids": ids, "attention_mask": mask})[0]
    worst = 0.0
    with torch.no_grad():
        for i in range(len(TEST_SEQUENCES)):
            n = int(mask[i].sum())
            t_ids = torch.tensor(ids[i:i + 1, :n])
            out = model(t_ids, attention_mask=torch.ones_like(t_ids))
            ref = (out[0] if isinstance(out, (tuple, list)) else out.last_hidden_state)[0].numpy()
            worst = max(worst, float(np.abs(got[i, :n] - ref).max()))
    print(f"export: {repo} -> {model_path}: max |onnx - pytorch| = {worst:.2e} over {len(TEST_SEQUENCES)} sequences", file=sys.stderr)
    import onnx
    import transformers
    info = {
        "checkpoint": repo,
        "revision": a.revision or "main",
        "snapshot": os.path.basename(os.path.normpath(path)),
        "exporter": "scripts/export-dnabert.py (mosaicbert.build_onnx, opset 17)",
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__, "onnx": onnx.__version__, "onnxruntime": ort.__version__},
        "check": {"sequences": len(TEST_SEQUENCES), "max_abs_diff": worst, "tolerance": a.tolerance},
    }
    json.dump(info, open(os.path.join(a.out, "metavec-export.json"), "w"), indent=1)
    if not worst <= a.tolerance:
        raise SystemExit(f"export: ONNX output differs from the checkpoint's PyTorch output by {worst:.2e} > {a.tolerance:g}; not usable")


if __name__ == "__main__":
    main()
