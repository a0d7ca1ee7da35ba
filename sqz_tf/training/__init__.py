"""Training: optimizers, schedules, distribution, the training loop."""
