#!/usr/bin/python3
"""Export DeepConvNet with given weights to ONNX, as PyTorch writes it.

The network is built in PyTorch layer for layer as halfprec's deepConvNet (the book's dropout at
inference is a multiplication by 0.5), loaded with the weights of a safetensors file, and exported
with torch.onnx.export: `x.view(x.size(0), -1)` becomes the Shape/Gather/Unsqueeze/Concat/Reshape
chain, the 0.5 a Mul by a constant, and the batch dimension is dynamic.

Usage (Debian's python3-torch; run once, the files are committed):
  /usr/bin/python3 tools/export_deepconvnet_onnx.py WEIGHTS.safetensors OUT.onnx --dtype f64|f32
"""
import argparse, json, struct

import numpy as np
import torch
from torch import nn


def read_safetensors(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        body = f.read()
    dtypes = {"F64": np.float64, "F32": np.float32}
    return {
        name: np.frombuffer(body[t["data_offsets"][0]:t["data_offsets"][1]], dtypes[t["dtype"]])
        .reshape(t["shape"]).copy()
        for name, t in header.items() if name != "__metadata__"
    }


class DeepConvNet(nn.Module):
    def __init__(self):
        super().__init__()
        pads = [1, 1, 1, 2, 1, 1]
        channels = [1, 16, 16, 32, 32, 64, 64]
        self.convs = nn.ModuleList(
            nn.Conv2d(channels[i], channels[i + 1], 3, padding=pads[i]) for i in range(6))
        self.fc1 = nn.Linear(64 * 4 * 4, 50)
        self.fc2 = nn.Linear(50, 10)

    def forward(self, x):
        for i, conv in enumerate(self.convs):
            x = torch.relu(conv(x))
            if i % 2 == 1:
                x = nn.functional.max_pool2d(x, 2, 2)
        x = x.view(x.size(0), -1)
        x = torch.relu(self.fc1(x)) * 0.5
        return self.fc2(x) * 0.5


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("weights")
    ap.add_argument("out")
    ap.add_argument("--dtype", choices=["f64", "f32"], default="f64")
    args = ap.parse_args()
    dtype = {"f64": torch.float64, "f32": torch.float32}[args.dtype]
    p = read_safetensors(args.weights)
    net = DeepConvNet().to(dtype).eval()
    with torch.no_grad():
        for i, conv in enumerate(net.convs):
            conv.weight.copy_(torch.from_numpy(p[f"W{i + 1}"]))
            conv.bias.copy_(torch.from_numpy(p[f"b{i + 1}"]))
        # halfprec's affine weights are (inputs, outputs), PyTorch's (outputs, inputs).
        net.fc1.weight.copy_(torch.from_numpy(p["W7"].T))
        net.fc1.bias.copy_(torch.from_numpy(p["b7"]))
        net.fc2.weight.copy_(torch.from_numpy(p["W8"].T))
        net.fc2.bias.copy_(torch.from_numpy(p["b8"]))
    x = torch.zeros(2, 1, 28, 28, dtype=dtype)
    torch.onnx.export(net, x, args.out, input_names=["image"], output_names=["logits"],
                      dynamic_axes={"image": {0: "N"}, "logits": {0: "N"}}, opset_version=13)


if __name__ == "__main__":
    main()
