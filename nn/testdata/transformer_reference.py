"""Reference values for nn/transformer_reference_test.ts.

Builds PyTorch's attention and Transformer layers (Debian's PyTorch 1.13, float64, dropout 0), runs them on
seeded inputs and writes their state dicts, inputs and outputs to transformer_reference.json. RMSNorm and grouped-query
attention are newer than 1.13, so their references are computed here in numpy (float64) from the formulas.

Run from the repository root:  /usr/bin/python3 nn/testdata/transformer_reference.py
"""
import json
import math
import os

import numpy as np
import torch
from torch import nn

torch.manual_seed(0)
torch.set_default_dtype(torch.float64)


def num(x):
    """A JSON number, or the string "Infinity"/"-Infinity" (JSON has no infinities; the test reads both)."""
    x = float(x)
    return x if math.isfinite(x) else ("Infinity" if x > 0 else "-Infinity")


def t2j(t):
    t = t.detach()
    if t.dtype == torch.bool:
        return {"shape": list(t.shape), "dtype": "bool", "data": t.flatten().int().tolist()}
    return {"shape": list(t.shape), "dtype": "float64", "data": [num(x) for x in t.flatten().tolist()]}


def a2j(a):
    return {"shape": list(a.shape), "dtype": "float64", "data": [num(x) for x in a.flatten()]}


def sd(module):
    return {k: t2j(v) for k, v in module.state_dict().items()}


cases = {}

# MultiheadAttention, sequence-first, self-attention, key padding (bool) and a float attention mask.
mha = nn.MultiheadAttention(8, 2).eval()
x = torch.randn(5, 2, 8)
kpm = torch.tensor([[False] * 5, [False, False, False, True, True]])
am = torch.randn(5, 5)
y, w = mha(x, x, x, key_padding_mask=kpm, attn_mask=am)
_, wh = mha(x, x, x, key_padding_mask=kpm, attn_mask=am, average_attn_weights=False)
cases["mha_self"] = {"state_dict": sd(mha), "inputs": {"x": t2j(x), "kpm": t2j(kpm), "am": t2j(am)},
                     "outputs": {"y": t2j(y), "w": t2j(w), "w_heads": t2j(wh)}}

# MultiheadAttention, batch-first, kdim/vdim (separate projection weights), bias_k/bias_v, zero attention, bool mask.
mha2 = nn.MultiheadAttention(8, 4, kdim=6, vdim=4, batch_first=True, add_bias_kv=True, add_zero_attn=True).eval()
q = torch.randn(2, 3, 8)
k = torch.randn(2, 4, 6)
v = torch.randn(2, 4, 4)
bm = torch.tensor([[False, True, False, False], [False, False, True, True], [True, False, False, False]])
y2, w2 = mha2(q, k, v, attn_mask=bm)
cases["mha_kdim"] = {"state_dict": sd(mha2), "inputs": {"q": t2j(q), "k": t2j(k), "v": t2j(v), "am": t2j(bm)},
                     "outputs": {"y": t2j(y2), "w": t2j(w2)}}

# Encoder layers: post-norm ReLU (sequence-first) and pre-norm GELU (batch-first) with a key padding mask.
enc1 = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0).eval()
src = torch.randn(6, 2, 8)
cases["encoder_layer_post"] = {"state_dict": sd(enc1), "inputs": {"src": t2j(src)},
                               "outputs": {"y": t2j(enc1(src))}}
enc2 = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0, activation="gelu", batch_first=True,
                                  norm_first=True).eval()
srcb = torch.randn(2, 6, 8)
skpm = torch.tensor([[False] * 6, [False] * 4 + [True] * 2])
cases["encoder_layer_pre"] = {"state_dict": sd(enc2), "inputs": {"src": t2j(srcb), "kpm": t2j(skpm)},
                              "outputs": {"y": t2j(enc2(srcb, src_key_padding_mask=skpm))}}

# Decoder layer with a causal target mask and a memory key padding mask.
dec = nn.TransformerDecoderLayer(8, 2, dim_feedforward=16, dropout=0.0).eval()
tgt = torch.randn(4, 2, 8)
mem = torch.randn(6, 2, 8)
causal = nn.Transformer.generate_square_subsequent_mask(4)
mkpm = torch.tensor([[False] * 6, [False] * 5 + [True]])
cases["decoder_layer"] = {
    "state_dict": sd(dec), "inputs": {"tgt": t2j(tgt), "mem": t2j(mem), "mkpm": t2j(mkpm)},
    "outputs": {"y": t2j(dec(tgt, mem, tgt_mask=causal, memory_key_padding_mask=mkpm)), "causal": t2j(causal)}}

# The whole encoder-decoder Transformer.
tr = nn.Transformer(d_model=8, nhead=2, num_encoder_layers=2, num_decoder_layers=2, dim_feedforward=16,
                    dropout=0.0).eval()
s_in = torch.randn(5, 2, 8)
t_in = torch.randn(4, 2, 8)
out = tr(s_in, t_in, tgt_mask=nn.Transformer.generate_square_subsequent_mask(4), src_key_padding_mask=mkpm[:, :5],
         memory_key_padding_mask=mkpm[:, :5])
cases["transformer"] = {"state_dict": sd(tr), "inputs": {"src": t2j(s_in), "tgt": t2j(t_in), "kpm": t2j(mkpm[:, :5])},
                        "outputs": {"y": t2j(out)}}

# RMSNorm (PyTorch >= 2.4) in numpy: x / sqrt(mean(x^2) + eps) * weight.
rng = np.random.default_rng(0)
xr = rng.standard_normal((3, 4, 6))
wr = rng.standard_normal((6,))
rms = lambda a, eps: a / np.sqrt((a * a).mean(-1, keepdims=True) + eps)
cases["rms_norm"] = {"inputs": {"x": a2j(xr), "w": a2j(wr)},
                     "outputs": {"y_eps": a2j(rms(xr, 1e-6) * wr), "y_default": a2j(rms(xr, np.finfo(np.float64).eps) * wr)}}

# Grouped-query attention (enable_gqa, PyTorch >= 2.5) in numpy: each key/value head serves H/Hk query heads.
qg = rng.standard_normal((2, 4, 3, 5))
kg = rng.standard_normal((2, 2, 6, 5))
vg = rng.standard_normal((2, 2, 6, 3))
mg = rng.standard_normal((3, 6)) > -0.5
kr = np.repeat(kg, 2, axis=1)
vr = np.repeat(vg, 2, axis=1)
sc = qg @ kr.transpose(0, 1, 3, 2) / math.sqrt(5)
sc = np.where(mg, sc, -np.inf)
sc = sc - sc.max(-1, keepdims=True)
pw = np.exp(sc)
pw = pw / pw.sum(-1, keepdims=True)
cases["sdpa_gqa"] = {"inputs": {"q": a2j(qg), "k": a2j(kg), "v": a2j(vg),
                                "mask": {"shape": [3, 6], "dtype": "bool", "data": [int(b) for b in mg.flatten()]}},
                     "outputs": {"y": a2j(pw @ vr)}}

path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "transformer_reference.json")
with open(path, "w") as f:
    json.dump({"torch": torch.__version__, "cases": cases}, f)
print("wrote", path, os.path.getsize(path), "bytes")
