"""One-line callbacks for HF Trainer (``hf``), PyTorch Lightning (``lightning``) and
stable-baselines3 (``sb3``). Each module imports its library only when used (optional extras)."""
