"""The study's conv autoencoder written directly in PyTorch, with no Keras in between:
seconds per epoch of 3000 random 28x28 images (batch 300, Adam, MSE), eager in NCHW and
in channels-last, and compiled with torch.compile; then each layer's forward + backward
on one batch. A floor for what a torch path of the pipeline could reach on this host.

    python torch_floor.py     # in a venv with torch installed
"""

import os
import platform
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

B, N = 300, 3000


class Net(nn.Module):
    """Conv2D(10, 5, same, relu) -> MaxPool(5, 1) -> Dense(196) -> (14, 14, 1) ->
    Conv2DTranspose(10, 4, 2, same, relu) -> Conv2D(1, 4, same)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 10, 5, padding=2)
        self.dense = nn.Linear(5760, 196)
        self.up = nn.ConvTranspose2d(1, 10, 4, stride=2, padding=1)
        self.out = nn.Conv2d(10, 1, 4, padding="same")

    def forward(self, x):
        h = F.max_pool2d(F.relu(self.conv(x)), 5, 1)  # (n, 10, 24, 24)
        h = self.dense(h.flatten(1)).view(-1, 1, 14, 14)
        return self.out(F.relu(self.up(h)))


def epochs(net, images, label, compiled=False, channels_last=False, n=5):
    opt = torch.optim.Adam(net.parameters(), lr=0.005, foreach=True)

    def step(batch):
        opt.zero_grad(set_to_none=True)
        loss = F.mse_loss(net(batch), batch)
        loss.backward()
        opt.step()
        return loss

    run = torch.compile(step) if compiled else step
    times = []
    for _ in range(n):
        start = time.perf_counter()
        order = torch.randperm(N)
        for begin in range(0, N, B):
            batch = images[order[begin : begin + B]]
            if channels_last:
                batch = batch.contiguous(memory_format=torch.channels_last)
            loss = run(batch)
        times.append(time.perf_counter() - start)
    print(f"{label:28} s/epoch {[round(t, 3) for t in times]}  last loss {float(loss):.5f}")


def per_layer(images):
    net, batch = Net(), images[:B]

    def ms(fn, k=10):
        fn()
        start = time.perf_counter()
        for _ in range(k):
            fn()
        return (time.perf_counter() - start) / k * 1000

    conv_out = F.relu(net.conv(batch)).detach().requires_grad_()
    pooled = F.max_pool2d(conv_out, 5, 1).detach().flatten(1).requires_grad_()
    latent = net.dense(pooled).detach().view(-1, 1, 14, 14).requires_grad_()
    layers = {
        "conv 5x5, 1 -> 10": lambda: F.relu(net.conv(batch)).sum().backward(),
        "max-pool 5x5, stride 1": lambda: F.max_pool2d(conv_out, 5, 1).sum().backward(),
        "dense 5760 -> 196": lambda: net.dense(pooled).sum().backward(),
        "decoder": lambda: net.out(F.relu(net.up(latent))).sum().backward(),
    }
    for name, fn in layers.items():
        print(f"{name:28} {ms(fn):6.1f} ms a batch of {B}, forward + backward")


if __name__ == "__main__":
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"mkldnn {torch.backends.mkldnn.is_available()}"
    )
    torch.manual_seed(0)
    images = torch.rand(N, 1, 28, 28)
    epochs(Net(), images, "eager, NCHW")
    epochs(
        Net().to(memory_format=torch.channels_last), images, "eager, channels-last",
        channels_last=True,
    )  # fmt: skip
    per_layer(images)
    epochs(Net(), images, "torch.compile")
