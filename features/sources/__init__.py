"""Readers that turn files into the portfolio history format."""
