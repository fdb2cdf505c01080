#!/usr/bin/python3
"""PyTorch peer of bench/run.sh (run with /usr/bin/python3, which has torch and numpy).

  torch_peer.py bench  --cell lstm --layers L --input I --hidden H --batch N --time T
                       [--threads K] [--train] [--iters N | --budget SEC] [--warmup W]
  torch_peer.py infer  ... --weights W.safetensors --x X.npy --out Y.npy
  torch_peer.py grad   ... --weights W.safetensors --x X.npy --y Y.npy --out G.npz
  torch_peer.py export ... --weights W.safetensors --batch N --time T --out M.onnx

The network is torch.nn.LSTM / GRU / RNN(tanh) with batch_first=True, registered as `seq`
(so the rnnc weights, `seq.weight_ih_l0`..., load as its state_dict), returning the output
at every step. `bench` prints `bench: mode=... median_ms=... min_ms=... iters=N`: inference
runs the module under torch.no_grad(); --train runs forward, the MSE loss against a random
target and backward (parameter gradients, no optimizer; the gradients are reset to None
before each step). Threads: torch.set_num_threads(K) (run it with OMP_NUM_THREADS=K and
OMP_WAIT_POLICY=PASSIVE, as bench/run.sh does).
"""
import argparse
import json
import struct
import sys
import time

import numpy as np
import torch


class Net(torch.nn.Module):
    def __init__(self, cell, layers, input, hidden):
        super().__init__()
        cls = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}[cell]
        kw = {"nonlinearity": "tanh"} if cell == "rnn" else {}
        self.seq = cls(input, hidden, num_layers=layers, batch_first=True, **kw)

    def forward(self, x):
        return self.seq(x)[0]


def read_safetensors(path):
    """The F32 tensors of a safetensors file, as numpy arrays (no safetensors package needed)."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__" or info["dtype"] != "F32":
            continue
        a, b = info["data_offsets"]
        out[name] = np.frombuffer(data[base + a:base + b], dtype="<f4").reshape(info["shape"])
    return out


def make_net(args):
    net = Net(args.cell, args.layers, args.input, args.hidden)
    if getattr(args, "weights", None):
        w = read_safetensors(args.weights)
        state = {k: torch.from_numpy(v.copy()) for k, v in w.items() if k.startswith("seq.")}
        net.load_state_dict(state, strict=True)
    return net


def cmd_infer(args):
    net = make_net(args).eval()
    x = torch.from_numpy(np.load(args.x).astype(np.float32))
    with torch.no_grad():
        y = net(x)
    np.save(args.out, y.numpy().astype(np.float32))


def cmd_grad(args):
    net = make_net(args)
    x = torch.from_numpy(np.load(args.x).astype(np.float32))
    y = torch.from_numpy(np.load(args.y).astype(np.float32))
    loss = torch.nn.functional.mse_loss(net(x), y)
    loss.backward()
    grads = {"loss": np.array(loss.item(), dtype=np.float32)}
    for name, p in net.named_parameters():
        grads[name] = p.grad.numpy().astype(np.float32)
    np.savez(args.out, **grads)


def cmd_export(args):
    net = make_net(args).eval()
    x = torch.randn(args.batch, args.time, args.input)
    import warnings
    warnings.filterwarnings("ignore")
    torch.onnx.export(net, (x,), args.out, input_names=["x"], output_names=["y"],
                      opset_version=14, do_constant_folding=True)


def cmd_bench(args):
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    net = Net(args.cell, args.layers, args.input, args.hidden)
    x = torch.randn(args.batch, args.time, args.input)
    if args.train:
        net.train()
        target = torch.randn(args.batch, args.time, args.hidden)

        def step():
            for p in net.parameters():
                p.grad = None
            loss = torch.nn.functional.mse_loss(net(x), target)
            loss.backward()
    else:
        net.eval()

        def step():
            with torch.no_grad():
                net(x)

    for _ in range(args.warmup):
        step()
    times = []
    start = time.perf_counter()
    while True:
        if args.iters > 0:
            if len(times) >= args.iters:
                break
        elif (len(times) >= 3 and time.perf_counter() - start >= args.budget) \
                or len(times) >= 100000:
            break
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1e3)
    times.sort()
    n = len(times)
    median = times[n // 2] if n % 2 else 0.5 * (times[n // 2 - 1] + times[n // 2])
    print(f"bench: mode={'train' if args.train else 'infer'} median_ms={median:.6g} "
          f"min_ms={times[0]:.6g} iters={n} threads={torch.get_num_threads()}")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("command", choices=["bench", "infer", "grad", "export"])
    p.add_argument("--cell", choices=["lstm", "gru", "rnn"], required=True)
    p.add_argument("--layers", type=int, default=1)
    p.add_argument("--input", type=int, required=True)
    p.add_argument("--hidden", type=int, required=True)
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--time", type=int, default=100)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--train", action="store_true")
    p.add_argument("--iters", type=int, default=0)
    p.add_argument("--budget", type=float, default=1.0)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--weights")
    p.add_argument("--x")
    p.add_argument("--y")
    p.add_argument("--out")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    {"bench": cmd_bench, "infer": cmd_infer, "grad": cmd_grad, "export": cmd_export}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
