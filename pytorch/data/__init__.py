"""Data access: audio and Kaldi data dirs (audio.py), ark/scp readers and writers, datasets, samplers."""
