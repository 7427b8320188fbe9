"""Risk models: settings, the portfolio history contract, the estimator, explanations, scoring."""
