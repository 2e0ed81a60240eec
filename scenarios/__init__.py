"""What-if scenarios: timed events applied on top of the baseline market."""
