"""Point-in-time schedule and budget signals from project history."""
