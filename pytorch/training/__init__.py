"""Training: trainer (stages, DDP, AMP, resume), optimiser/scheduler registries, checkpoints."""
