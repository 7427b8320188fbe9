"""The HTTP service: scores, portfolio ranking, project explanations."""
