"""The sample rate of the generated corpus: every module that makes or measures audio imports it from here."""
from __future__ import annotations

SR = 16000  # Hz, as VoxCeleb, CN-Celeb, ASVspoof 2019, MUSAN and RIRS_NOISES
