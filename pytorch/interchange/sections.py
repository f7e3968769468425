"""What the importers share: the sections of a resolved config that every imported system gets."""
from __future__ import annotations

from typing import Any

# Extraction and back-end defaults of the full-size recipes (egs/voxceleb/conf): whole utterances,
# cosine scoring with AS-Norm.
EXTRACT: dict[str, Any] = {"max_chunk_frames": 0, "batch_size": 16, "device": "cpu"}
BACKEND: dict[str, Any] = {"chain": ["mean", "lnorm"], "top_n": 300}


def system_config(data: dict, features: dict, model: dict, extract: dict | None = None) -> dict:
    """A config with the sections that extraction, export and the back-end read; `extract` adds to
    (or overrides) the extraction defaults."""
    return {"data": {"train": None, "valid": None, **data}, "features": features, "model": model,
            "extract": {**EXTRACT, **(extract or {})}, "backend": dict(BACKEND)}
