"""Quality gate: Great Expectations checkpoints over the warehouse marts."""
