#!/usr/bin/env python3
"""PyTorch reference of Glimpse's Show-Attend-Tell model, for the side-by-side benchmark.

Same maths as src/ml/model: features [B, 64, 2048] -> dense+ReLU 256 (E); Bahdanau attention
(W1 on the features once per batch, W2 on the state, V without bias); GRU cell with Keras
semantics (reset_after=True, sigmoid gates, which is exactly torch.nn.GRUCell); input of the
GRU = [context (E) + embedding (256)]; fc1 (512, linear) -> fc2 (vocabulary logits).
Training: teacher forcing over captions [B, 12] (11 steps), cross-entropy masked on padding and
normalised by the number of real tokens, global grad-norm clip 5, Adam lr 1e-3.

Prints one JSON object: {"torch", "threads", "blas", "rows": {row: median ms}}.
Usage: python3 bench/torch_ref.py [--threads 2] [--quick]
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

L, C, E, D, U, V = 64, 2048, 256, 256, 512, 5000
CAPTION_TOKENS = 12
DECODE_TOKENS = 20
START, END = 1, 2


class ShowAttendTell(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(C, E)
        self.w1 = nn.Linear(E, U)
        self.w2 = nn.Linear(U, U)
        self.v = nn.Linear(U, 1, bias=False)
        self.embedding = nn.Embedding(V, D)
        self.gru = nn.GRUCell(E + D, U)
        self.fc1 = nn.Linear(U, U)
        self.fc2 = nn.Linear(U, V)

    def encode(self, raw):
        features = F.relu(self.proj(raw))  # [B, L, E]
        return features, self.w1(features)  # keys [B, L, U]

    def step(self, features, keys, x_emb, h):
        scores = self.v(torch.tanh(keys + self.w2(h).unsqueeze(1))).squeeze(2)  # [B, L]
        alpha = torch.softmax(scores, dim=1)  # [B, L]
        context = torch.bmm(alpha.unsqueeze(1), features).squeeze(1)  # [B, E]
        h = self.gru(torch.cat([context, x_emb], dim=1), h)  # [B, U]
        return h, alpha

    def logits(self, states):
        return self.fc2(self.fc1(states))  # [N, V]

    def loss(self, raw, captions):
        features, keys = self.encode(raw)
        inputs, targets = captions[:, :-1], captions[:, 1:]  # [B, T]
        emb = self.embedding(inputs)  # [B, T, D]
        h = features.new_zeros(raw.shape[0], U)
        states = []
        for t in range(inputs.shape[1]):
            h, _ = self.step(features, keys, emb[:, t], h)
            states.append(h)
        logits = self.logits(torch.stack(states, 1).reshape(-1, U))  # [B*T, V]
        mask = (targets != 0).reshape(-1).float()
        ce = F.cross_entropy(logits, targets.reshape(-1), reduction="none")
        return (ce * mask).sum() / mask.sum().clamp(min=1)

    @torch.no_grad()
    def greedy(self, raw, tokens):
        features, keys = self.encode(raw)
        B = raw.shape[0]
        tok = torch.full((B,), START, dtype=torch.long)
        h = features.new_zeros(B, U)
        out = []
        for _ in range(tokens):
            h, _ = self.step(features, keys, self.embedding(tok), h)
            tok = self.logits(h).argmax(1)
            out.append(tok)
        return torch.stack(out, 1)

    @torch.no_grad()
    def beam(self, raw, width, tokens):
        """Beam search for every image of the batch at once: rows are image-major, `width` beams each."""
        B = raw.shape[0]
        features, keys = self.encode(raw)
        features, keys = features.repeat_interleave(width, 0), keys.repeat_interleave(width, 0)  # [B*k, L, .]
        h = features.new_zeros(B * width, U)
        tok = torch.full((B * width,), START, dtype=torch.long)
        scores = torch.full((B, width), float("-inf"))
        scores[:, 0] = 0.0  # one live hypothesis per image at the start
        history = torch.zeros(B * width, 0, dtype=torch.long)
        base = (torch.arange(B) * width).unsqueeze(1)  # [B, 1]
        for _ in range(tokens):
            h, _ = self.step(features, keys, self.embedding(tok), h)
            total = scores.unsqueeze(2) + torch.log_softmax(self.logits(h), 1).view(B, width, V)  # [B, k, V]
            scores, flat = total.view(B, -1).topk(width, 1)  # [B, k]
            rows = (base + flat // V).reshape(-1)
            tok = (flat % V).reshape(-1)
            h = h[rows]
            history = torch.cat([history[rows], tok.unsqueeze(1)], 1)
        best = (scores / tokens).argmax(1)  # length-normalised (all the same length here)
        return history.view(B, width, -1)[torch.arange(B), best]


def loaded_blas():
    """The BLAS shared library actually mapped into this process (Debian builds say 'generic')."""
    with open("/proc/self/maps") as maps:
        paths = {line.split()[-1] for line in maps if "blas" in line.lower() and "/" in line}
    return ", ".join(sorted(paths)) or "unknown"


STAT = statistics.median


def timed(fn, warmup, runs):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return STAT(times)


def captions(batch, gen):
    caps = torch.randint(3, V, (batch, CAPTION_TOKENS), generator=gen)
    caps[:, 0] = START
    lengths = torch.randint(6, CAPTION_TOKENS + 1, (batch,), generator=gen)
    for i, n in enumerate(lengths.tolist()):
        caps[i, n - 1] = END
        caps[i, n:] = 0
    return caps


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument("--min", action="store_true", help="fastest run per row instead of the median")
    args = parser.parse_args()
    global STAT
    STAT = min if args.min else statistics.median
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    model = ShowAttendTell()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    runs = 3 if args.quick else 7
    rows = {}

    for batch in (16, 64):
        raw = torch.rand(batch, L, C, generator=gen)
        caps = captions(batch, gen)

        def train_step():
            opt.zero_grad(set_to_none=True)
            loss = model.loss(raw, caps)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
            return loss.item()

        rows[f"train step b{batch}"] = timed(train_step, 2, runs)

    model.eval()
    for batch in (1, 16):
        raw = torch.rand(batch, L, C, generator=gen)
        rows[f"greedy {DECODE_TOKENS} b{batch}"] = timed(lambda: model.greedy(raw, DECODE_TOKENS), 2, runs * 2)
    for batch in (1, 16):
        raw = torch.rand(batch, L, C, generator=gen)
        rows[f"beam 3 {DECODE_TOKENS} b{batch}"] = timed(lambda: model.beam(raw, 3, DECODE_TOKENS), 2, runs * 2)

    blas = loaded_blas()
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "blas": blas, "rows": rows}))


if __name__ == "__main__":
    main()
