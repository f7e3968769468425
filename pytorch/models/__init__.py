"""Speaker-embedding models: `build_model(cfg)`, registries MODELS and POOLING.

Importing this package registers every family (the modules register themselves on import).
"""
from pytorch.models import ecapa_tdnn, mirnet, pooling, res2net, resnet, tdnn  # noqa: F401  (registration)
from pytorch.models.registry import MODELS, POOLING, build_model, build_pooling

__all__ = ["MODELS", "POOLING", "build_model", "build_pooling"]
