"""Loads a dendrite safetensors file into PyTorch as it is, and runs it.

    /usr/bin/python3 examples/outgrow/load_in_pytorch.py MODEL WEIGHTS.safetensors INPUT.f32 N,C,H,W

MODEL is `mnist-cnn` (examples/mnist_cnn.ts's network as an nn.Sequential)
or `resnet18` (torchvision's ResNet-18, written out below with torchvision's
attribute names because Debian ships no python3-torchvision; with torchvision
installed, `torchvision.models.resnet18(num_classes=n)` is the same module
tree). The state dict is loaded with `load_state_dict(strict=True)`: every
key dendrite wrote must be one PyTorch expects, with the same shape. INPUT is
raw little-endian float32 of shape N,C,H,W. Prints the eval-mode logits as
JSON on standard output.

The file is read by the ten lines of `read_safetensors` (the format is a
little-endian u64 header length, a JSON header, then the raw tensors), which
is what `safetensors.torch.load_file` returns where that package is
installed: Debian ships no python3-safetensors either.

`examples/outgrow_test.ts` runs this and compares the logits with dendrite's.
"""

import json
import struct
import sys

import torch
from torch import nn

DTYPES = {"F32": torch.float32, "F64": torch.float64, "I32": torch.int32, "I64": torch.int64, "BOOL": torch.bool}


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    body = raw[8 + n :]
    out = {}
    for key, v in header.items():
        if key == "__metadata__":
            continue
        lo, hi = v["data_offsets"]
        out[key] = torch.frombuffer(bytearray(body[lo:hi]), dtype=DTYPES[v["dtype"]]).reshape(v["shape"])
    return out


def mnist_cnn(num_classes):
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1, bias=False),
        nn.BatchNorm2d(32),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1, bias=False),
        nn.BatchNorm2d(64),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(64 * 7 * 7, 128),
        nn.ReLU(),
        nn.Dropout(0.3),
        nn.Linear(128, num_classes),
    )


class BasicBlock(nn.Module):
    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = self.downsample(x) if self.downsample is not None else x
        return self.relu(out + identity)


class ResNet18(nn.Module):
    """torchvision.models.resnet18's module tree and forward."""

    def __init__(self, num_classes):
        super().__init__()
        self.inplanes = 64
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = self._make_layer(64, 1)
        self.layer2 = self._make_layer(128, 2)
        self.layer3 = self._make_layer(256, 2)
        self.layer4 = self._make_layer(512, 2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512, num_classes)

    def _make_layer(self, planes, stride):
        downsample = None
        if stride != 1 or self.inplanes != planes:
            downsample = nn.Sequential(nn.Conv2d(self.inplanes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))
        layers = [BasicBlock(self.inplanes, planes, stride, downsample), BasicBlock(planes, planes)]
        self.inplanes = planes
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def main():
    name, weights, input_path, shape = sys.argv[1:5]
    state = read_safetensors(weights)
    head = "12.weight" if name == "mnist-cnn" else "fc.weight"
    model = (mnist_cnn if name == "mnist-cnn" else ResNet18)(state[head].shape[0])
    model.load_state_dict(state, strict=True)
    model.eval()
    dims = [int(s) for s in shape.split(",")]
    with open(input_path, "rb") as f:
        x = torch.frombuffer(bytearray(f.read()), dtype=torch.float32).reshape(dims)
    with torch.no_grad():
        y = model(x)
    json.dump({"shape": list(y.shape), "data": y.reshape(-1).tolist(), "keys": len(state)}, sys.stdout)


if __name__ == "__main__":
    main()
