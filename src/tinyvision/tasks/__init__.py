"""Task glue: each task turns its arguments into data, a model and a training step for the engine."""
