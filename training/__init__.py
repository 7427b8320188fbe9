"""Targets, splits, baselines, training, evaluation, the synthetic portfolio, and the CLI."""
