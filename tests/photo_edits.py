"""Edits that tests make of real photos: what people do to a copy (shared by the verifier and grouping tests)."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont


def watermarked(photo: Image.Image) -> Image.Image:
    """A stock-photo watermark: faint white text tiled over the whole photo."""
    layer = Image.new("RGBA", photo.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    font = ImageFont.load_default(size=photo.height // 14)
    for y in range(0, photo.height, photo.height // 5):
        for x in range(-(y % (photo.width // 3)), photo.width, photo.width // 3):
            draw.text((x, y), "(c) studio", fill=(255, 255, 255, 90), font=font)
    return Image.alpha_composite(photo.convert("RGBA"), layer).convert("RGB")


def sharpened(photo: Image.Image) -> Image.Image:
    return photo.filter(ImageFilter.UnsharpMask(radius=3, percent=180, threshold=2))


def noisy(photo: Image.Image) -> Image.Image:
    """Sensor-like grain (the same on every channel)."""
    grain = np.random.default_rng(0).normal(0, 10, (photo.height, photo.width, 1))
    return Image.fromarray(np.clip(np.asarray(photo, np.float32) + grain, 0, 255).astype(np.uint8))


def vignetted(photo: Image.Image) -> Image.Image:
    """Corners darkened, as a phone filter does."""
    h, w = photo.height, photo.width
    y, x = np.ogrid[:h, :w]
    r = np.sqrt(((x - w / 2) / (w / 2)) ** 2 + ((y - h / 2) / (h / 2)) ** 2)
    gain = np.clip(1.0 - 0.6 * np.clip(r - 0.5, 0, None) ** 1.5, 0.3, 1.0)
    return Image.fromarray((np.asarray(photo, np.float32) * gain[..., None]).astype(np.uint8))


STICKER_COLOURS = ((255, 210, 0), (230, 40, 90), (40, 160, 255), (20, 200, 90))


def stickered(photo: Image.Image, centres, radius: int) -> Image.Image:
    """Round stickers (flat colour, a black outline) at the given centres, colours in turn."""
    out = photo.copy()
    draw = ImageDraw.Draw(out)
    for (x, y), colour in zip(centres, STICKER_COLOURS):
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=colour,
                     outline=(0, 0, 0), width=3)
    return out
