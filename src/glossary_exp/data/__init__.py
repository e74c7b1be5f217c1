"""Shared data pieces: the in-memory batch loader and the datamodule built on it."""
