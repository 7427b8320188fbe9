"""Loaders of public project data sets into the portfolio history format (projects, snapshots)."""
