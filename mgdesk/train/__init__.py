"""Qt-free fine-tuning of a MultiGrain model on the user's own photos (config, data, losses, loop, export)."""

from mgdesk.train.config import TrainConfig

__all__ = ["TrainConfig"]
