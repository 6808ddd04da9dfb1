"""Real small RL trainings that produce an RL pathology, and healthy twins.

* :func:`baird` -- Baird's counterexample (Sutton & Barto 2018, §11.2): linear off-policy
  semi-gradient TD(0) diverges for any positive step size; the same learner on-policy
  converges. The value estimates of the 7 states are logged as ``q_max``/``q_min``.
* :func:`dqn_cartpole` -- a small DQN (torch, gymnasium's CartPole-v1) that logs the Q
  statistics of each batch, the TD loss and the episodic return. Broken: a large LR, a
  target network that follows the online one every step (tau 1) and a long n-step return,
  the knobs of the DQN post-mortem (#5). Healthy: lr 1e-3, tau 0.005, 1-step.

Each writes a CSV log (and a YAML config) that ``lrdoctor diagnose`` reads.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import yaml

from lrdoctor.corpus._io import write_csv

__all__ = ["BairdConfig", "baird", "DQNConfig", "dqn_cartpole"]


@dataclass(frozen=True)
class BairdConfig:
    off_policy: bool = True
    """Off-policy (behaviour uniform over 7 states, target always the solid action): diverges."""
    alpha: float = 0.01
    gamma: float = 0.99
    steps: int = 2000
    seed: int = 0


def _baird_features() -> np.ndarray:
    x = np.zeros((7, 8))
    for s in range(6):
        x[s, s], x[s, 7] = 2.0, 1.0
    x[6, 6], x[6, 7] = 1.0, 2.0
    return x


def baird(out: Path, cfg: BairdConfig = BairdConfig()) -> Path:
    """Run semi-gradient TD(0) on Baird's counterexample; write ``out/log.csv`` and ``config.yaml``.

    Expected-update form (Sutton & Barto Fig. 11.2, "semi-gradient DP"): every state is
    updated each step, weighted by the behaviour distribution (uniform: off-policy) or by
    the target policy's own distribution (all mass on state 7: on-policy).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    x = _baird_features()
    w = np.array([1, 1, 1, 1, 1, 1, 10, 1], dtype=float)
    mu = np.full(7, 1 / 7) if cfg.off_policy else np.eye(7)[6]
    rows = []
    for t in range(cfg.steps):
        v = x @ w
        # target policy always takes the solid action -> state 7 (index 6), reward 0
        delta = 0.0 + cfg.gamma * v[6] - v
        w = w + cfg.alpha * (mu * delta) @ x
        # (no return column: Baird's counterexample is policy evaluation, with no episodes and a
        # reward of 0 everywhere; a constant 0 "return" would read as an agent that never met a reward)
        rows.append({"step": t, "loss": float(mu @ delta ** 2), "q_max": float(v.max()), "q_min": float(v.min()),
                     "lr": cfg.alpha})
    _write(out, rows, {**asdict(cfg), "algo": "semi-gradient TD(0)", "env": "baird"})
    return out / "log.csv"


@dataclass(frozen=True)
class DQNConfig:
    learning_rate: float = 1e-3
    tau: float = 0.005
    n_step: int = 1
    gamma: float = 0.99
    batch_size: int = 64
    total_steps: int = 6000
    learning_starts: int = 500
    buffer_size: int = 20000
    eps_final: float = 0.05
    exploration_steps: int = 2000
    hidden: int = 64
    seed: int = 0
    log_every: int = 50


def dqn_cartpole(out: Path, cfg: DQNConfig = DQNConfig()) -> Path:
    """Train a DQN on CartPole-v1; write ``out/log.csv`` (step = env frames) and ``config.yaml``."""
    import gymnasium as gym
    import torch
    from torch import nn

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    env = gym.make("CartPole-v1")
    obs, _ = env.reset(seed=cfg.seed)

    def net() -> nn.Module:
        return nn.Sequential(nn.Linear(4, cfg.hidden), nn.ReLU(), nn.Linear(cfg.hidden, cfg.hidden), nn.ReLU(), nn.Linear(cfg.hidden, 2))

    q, target = net(), net()
    target.load_state_dict(q.state_dict())
    opt = torch.optim.Adam(q.parameters(), lr=cfg.learning_rate)
    S = np.zeros((cfg.buffer_size, 4), np.float32)
    A = np.zeros(cfg.buffer_size, np.int64)
    R = np.zeros(cfg.buffer_size, np.float32)
    S2 = np.zeros((cfg.buffer_size, 4), np.float32)
    D = np.zeros(cfg.buffer_size, np.float32)
    G = np.zeros(cfg.buffer_size, np.float32)
    size = ptr = 0
    pending: list[tuple[np.ndarray, int, float]] = []
    ep_ret, returns, rows = 0.0, [], []
    stats = {"loss": [], "q_max": [], "q_min": [], "q_mean": []}
    for step in range(1, cfg.total_steps + 1):
        eps = max(cfg.eps_final, 1.0 - step / cfg.exploration_steps)
        if rng.random() < eps:
            a = int(rng.integers(2))
        else:
            with torch.no_grad():
                a = int(q(torch.as_tensor(obs)).argmax())
        obs2, r, term, trunc, _ = env.step(a)
        ep_ret += r
        pending.append((obs, a, float(r)))
        # n-step transitions: emit the oldest once n are pending, or all at episode end
        while pending and (len(pending) >= cfg.n_step or term or trunc):
            s0, a0, _ = pending[0]
            S[ptr], A[ptr], S2[ptr] = s0, a0, obs2
            R[ptr] = sum(cfg.gamma ** k * pending[k][2] for k in range(len(pending)))
            G[ptr] = cfg.gamma ** len(pending)  # discount of the bootstrapped value
            D[ptr] = 1.0 if term else 0.0
            ptr, size = (ptr + 1) % cfg.buffer_size, min(size + 1, cfg.buffer_size)
            pending.pop(0)
            if not (term or trunc):
                break
        obs = obs2
        if term or trunc:
            returns.append(ep_ret)
            ep_ret = 0.0
            obs, _ = env.reset()
            pending.clear()
        if step > cfg.learning_starts and size >= cfg.batch_size:
            idx = rng.integers(0, size, cfg.batch_size)
            s, a_, r_, s2, d, gn = (torch.as_tensor(S[idx]), torch.as_tensor(A[idx]), torch.as_tensor(R[idx]),
                                    torch.as_tensor(S2[idx]), torch.as_tensor(D[idx]), torch.as_tensor(G[idx]))
            with torch.no_grad():
                y = r_ + gn * (1 - d) * target(s2).max(1).values
            qa_all = q(s)
            qa = qa_all.gather(1, a_[:, None]).squeeze(1)
            loss = nn.functional.smooth_l1_loss(qa, y)
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(q.parameters(), 10.0)
            opt.step()
            with torch.no_grad():
                for p, tp in zip(q.parameters(), target.parameters()):
                    tp.mul_(1 - cfg.tau).add_(p, alpha=cfg.tau)
            stats["loss"].append(loss.item())
            qd = qa_all.detach()
            stats["q_max"].append(float(qd.max()))
            stats["q_min"].append(float(qd.min()))
            stats["q_mean"].append(float(qd.mean()))
        if step % cfg.log_every == 0 and stats["loss"]:
            rows.append({"step": step, "loss": float(np.mean(stats["loss"])), "q_max": float(np.max(stats["q_max"])),
                         "q_min": float(np.min(stats["q_min"])), "q_mean": float(np.mean(stats["q_mean"])),
                         "ep_return": float(np.mean(returns[-20:])) if returns else "", "lr": cfg.learning_rate})
            for v in stats.values():
                v.clear()
    env.close()
    _write(out, rows, {**asdict(cfg), "algo": "dqn", "env": "CartPole-v1"})
    return out / "log.csv"


def _write(out: Path, rows: list[dict], config: dict) -> None:
    write_csv(out / "log.csv", rows)
    (out / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
