#!/usr/bin/python3
"""Train a small CNN in PyTorch on a slice of the MNIST test set and export it to ONNX.

A model as users bring one: convolutions with padding, BatchNorm, max and average pooling, global
average pooling, Dropout, `x.view(x.shape[0], -1)` and a Linear layer, trained for a few seconds
(CPU, seeded) on test images 5000 to 9999 of data/t10k-*.gz, exported by torch.onnx.export with a
dynamic batch. Beside the model it writes PyTorch's float32 logits of the first IMAGES test images
(images the model never saw), as a safetensors file with one tensor `logits`.

Usage (Debian's python3-torch; run once, the files are committed):
  /usr/bin/python3 tools/train_small_cnn.py data tests/fixtures/small-cnn.onnx \
      tests/fixtures/small-cnn-logits-f32.safetensors
"""
import argparse, gzip, json, struct

import numpy as np
import torch
from torch import nn

TRAIN = slice(5000, 10000)
IMAGES = 100


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    (magic,) = struct.unpack(">I", data[:4])
    rank = magic & 0xFF
    dims = struct.unpack(">" + "I" * rank, data[4:4 + 4 * rank])
    return np.frombuffer(data, np.uint8, offset=4 + 4 * rank).reshape(dims)


def write_safetensors(path, name, array):
    body = np.ascontiguousarray(array, dtype="<f4").tobytes()
    header = json.dumps({name: {"dtype": "F32", "shape": list(array.shape),
                                "data_offsets": [0, len(body)]}}).encode()
    header += b" " * (-len(header) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(header)) + header + body)


class SmallCnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.block1 = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                                    nn.MaxPool2d(2))
        self.block2 = nn.Sequential(nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
                                    nn.AvgPool2d(2))
        self.block3 = nn.Sequential(nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32),
                                    nn.ReLU(), nn.AdaptiveAvgPool2d(1))
        self.dropout = nn.Dropout(0.2)
        self.fc = nn.Linear(32, 10)

    def forward(self, x):
        x = self.block3(self.block2(self.block1(x)))
        x = x.view(x.shape[0], -1)
        return self.fc(self.dropout(x))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mnist")
    ap.add_argument("out")
    ap.add_argument("logits")
    args = ap.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(2)
    images = torch.from_numpy(
        read_idx(f"{args.mnist}/t10k-images-idx3-ubyte.gz").astype(np.float32) / 255
    ).unsqueeze(1)
    labels = torch.from_numpy(read_idx(f"{args.mnist}/t10k-labels-idx1-ubyte.gz").astype(np.int64))
    net = SmallCnn()
    optimizer = torch.optim.Adam(net.parameters(), lr=0.005)
    x, y = images[TRAIN], labels[TRAIN]
    for epoch in range(4):
        net.train()
        order = torch.randperm(len(x))
        for i in range(0, len(x), 50):
            batch = order[i:i + 50]
            optimizer.zero_grad()
            loss = nn.functional.cross_entropy(net(x[batch]), y[batch])
            loss.backward()
            optimizer.step()
    # The running statistics of BatchNorm, recomputed over the whole training slice with the
    # final weights (the moving averages lag behind weights that still move fast).
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.reset_running_stats()
                m.momentum = None
        for i in range(0, len(x), 500):
            net(x[i:i + 500])
    net.eval()
    with torch.no_grad():
        logits = net(images)
    held_out = logits[:TRAIN.start].argmax(1) == labels[:TRAIN.start]
    print(f"accuracy on images 0-4999 (not trained on): {held_out.float().mean().item():.4f}")
    torch.onnx.export(net, images[:2], args.out, input_names=["image"], output_names=["logits"],
                      dynamic_axes={"image": {0: "N"}, "logits": {0: "N"}}, opset_version=13,
                      # PRESERVE keeps BatchNormalization nodes (EVAL would fold them into the
                      # convolutions before halfprec sees them).
                      training=torch.onnx.TrainingMode.PRESERVE)
    write_safetensors(args.logits, "logits", logits[:IMAGES].numpy())


if __name__ == "__main__":
    main()
