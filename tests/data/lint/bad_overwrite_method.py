"""The overwrite in a trainer method called every step; the scheduler is stepped per epoch."""

import torch

import lrdoctor
from _common import batches, data, mlp


class Trainer:
    def __init__(self, base_lr=3e-3, warmup_steps=10):
        self.model = mlp()
        self.base_lr, self.warmup_steps = base_lr, warmup_steps
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=base_lr)
        self.scheduler = torch.optim.lr_scheduler.ExponentialLR(self.optimizer, gamma=0.5)
        self.monitor = lrdoctor.Monitor(self.optimizer, model=self.model, scheduler=self.scheduler)
        self.step_count = 0

    def adjust_learning_rate(self):
        pg = self.optimizer.param_groups[0]
        pg["lr"] = self.base_lr * min(1.0, (self.step_count + 1) / self.warmup_steps)

    def train_step(self, xb, yb):
        self.adjust_learning_rate()
        loss = torch.nn.functional.cross_entropy(self.model(xb), yb)
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        self.monitor.step(loss)
        self.step_count += 1

    def fit(self, epochs=4, steps_per_epoch=20):
        x, y = data()
        for epoch in range(epochs):
            for xb, yb in batches(x, y, steps_per_epoch):
                self.train_step(xb, yb)
            self.scheduler.step()
        return self.monitor


def main():
    return Trainer().fit()
