"""Reference values for dendrite's recurrent layers, computed by PyTorch.

Run from the repository root with Debian's PyTorch (1.13):

    /usr/bin/python3 nn/testdata/rnn_reference.py

It writes nn/testdata/rnn_reference.json (every configuration: constructor
options, the module's state dict under PyTorch's own keys, inputs, outputs and
the gradients of a fixed scalar of the outputs) and
nn/testdata/lstm_proj_bidir.safetensors (the first configuration's state dict
as PyTorch would save it, written here without the safetensors package).
`nn/rnn_reference_test.ts` and `models/rnn_checkpoint_test.ts` check that
dendrite's modules loaded with these state dicts reproduce the values.
"""

import json
import os
import struct

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

HERE = os.path.dirname(os.path.abspath(__file__))


def t(x):
    x = x.detach().to(torch.float32).contiguous()
    # 9 significant digits round-trip every float32.
    return {"shape": list(x.shape), "data": [float("%.9g" % v) for v in x.reshape(-1).tolist()]}


def weights_like(*xs):
    """Fixed random weights that turn the outputs into one scalar, so every gradient path is used."""
    return [torch.randn(x.shape) for x in xs]


def layer_case(name, cls, args, kwargs, x, hx=None, lengths=None, enforce_sorted=True):
    torch.manual_seed(sum(map(ord, name)))
    m = cls(*args, **kwargs)
    x = x.clone().requires_grad_()
    hx_in = None
    if hx is not None:
        hx_in = tuple(h.clone().requires_grad_() for h in hx) if isinstance(hx, tuple) else hx.clone().requires_grad_()
    inp = x
    if lengths is not None:
        inp = pack_padded_sequence(x, torch.tensor(lengths), batch_first=kwargs.get("batch_first", False),
                                   enforce_sorted=enforce_sorted)
    result = m(inp, hx_in)
    if isinstance(m, nn.RNNCellBase):
        # A cell returns h, or (h, c) for an LSTM cell.
        outs = list(result) if isinstance(result, tuple) else [result]
    else:
        out, state = result
        if lengths is not None:
            out, _ = pad_packed_sequence(out, batch_first=kwargs.get("batch_first", False))
        outs = [out, *(state if isinstance(state, tuple) else (state,))]
    ws = weights_like(*outs)
    loss = sum((o * w).sum() for o, w in zip(outs, ws))
    loss.backward()
    grads = {k: t(p.grad) for k, p in m.named_parameters()}
    grads["input"] = t(x.grad)
    if hx_in is not None:
        hs = list(hx_in) if isinstance(hx_in, tuple) else [hx_in]
        for i, h in enumerate(hs):
            grads[f"hx{i}"] = t(h.grad)
    return {
        "name": name,
        "module": cls.__name__,
        "args": list(args),
        "options": kwargs,
        "stateDict": {k: t(v) for k, v in m.state_dict().items()},
        "input": t(x),
        "hx": None if hx is None else [t(h) for h in (hx if isinstance(hx, tuple) else (hx,))],
        "lengths": lengths,
        "enforceSorted": enforce_sorted,
        "outputs": [t(o) for o in outs],
        "lossWeights": [t(w) for w in ws],
        "grads": grads,
    }, m


def main():
    torch.manual_seed(0)
    cases = []
    lstm_case, lstm = layer_case(
        "lstm_2layer_bidirectional_proj", nn.LSTM, (5, 6), {"num_layers": 2, "bidirectional": True, "proj_size": 3},
        torch.randn(4, 3, 5), (torch.randn(4, 3, 3), torch.randn(4, 3, 6)))
    cases.append(lstm_case)
    cases.append(layer_case("gru_2layer_batch_first", nn.GRU, (4, 5), {"num_layers": 2, "batch_first": True},
                            torch.randn(3, 6, 4), torch.randn(2, 3, 5))[0])
    cases.append(layer_case("rnn_tanh_bidirectional_no_bias", nn.RNN, (3, 4), {"bidirectional": True, "bias": False},
                            torch.randn(5, 2, 3))[0])
    cases.append(layer_case("rnn_relu_2layer", nn.RNN, (3, 4), {"nonlinearity": "relu", "num_layers": 2},
                            torch.randn(4, 2, 3))[0])
    cases.append(layer_case("lstm_packed_2layer_bidirectional_unsorted", nn.LSTM, (3, 4),
                            {"num_layers": 2, "bidirectional": True}, torch.randn(5, 3, 3),
                            (torch.randn(4, 3, 4), torch.randn(4, 3, 4)), lengths=[2, 5, 3], enforce_sorted=False)[0])
    cases.append(layer_case("gru_packed_bidirectional_batch_first", nn.GRU, (3, 4),
                            {"bidirectional": True, "batch_first": True}, torch.randn(3, 4, 3), torch.randn(2, 3, 4),
                            lengths=[4, 1, 3], enforce_sorted=False)[0])
    cases.append(layer_case("gru_unbatched", nn.GRU, (3, 4), {}, torch.randn(5, 3), torch.randn(1, 4))[0])
    cases.append(layer_case("lstm_cell", nn.LSTMCell, (3, 4), {}, torch.randn(2, 3),
                            (torch.randn(2, 4), torch.randn(2, 4)))[0])
    cases.append(layer_case("gru_cell", nn.GRUCell, (3, 4), {}, torch.randn(2, 3), torch.randn(2, 4))[0])
    cases.append(layer_case("rnn_cell_relu", nn.RNNCell, (3, 4), {"nonlinearity": "relu"}, torch.randn(2, 3),
                            torch.randn(2, 4))[0])
    with open(os.path.join(HERE, "rnn_reference.json"), "w") as f:
        json.dump({"torch": torch.__version__, "cases": cases}, f, separators=(",", ":"))
        f.write("\n")
    write_safetensors(os.path.join(HERE, "lstm_proj_bidir.safetensors"), lstm.state_dict())


def write_safetensors(path, state):
    """The safetensors layout: an 8-byte little-endian header length, a JSON header, then the raw tensors."""
    header, blobs, offset = {}, [], 0
    for k, v in state.items():
        b = v.detach().to(torch.float32).contiguous().numpy().tobytes()
        header[k] = {"dtype": "F32", "shape": list(v.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


if __name__ == "__main__":
    main()
