"""Thin MLflow client: log, register, alias, load, promote."""
