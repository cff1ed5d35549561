"""Edits for `bench/unseen_edits.py --edits probe`: a third set, made by a helper as a held-out
probe of edits that neither nd-dev nor the other two sets make (lens correction, an Instagram
square with a blurred fill, a 4:5 crop, portrait-mode blur, spot healing, a meme, an HDR look,
faded film, dehaze, HEIC at quality 40, a 2 degree turn with black corners, a pixelated box, a
40 % crop). It is not held out for the two edits fixed against it on 2026-12-03: the verifier's
lens bend (barrel) and keep-best's enlargement by prediction (insta_square). A colour negative
was in the probe too; it is left out here: a negative is not "the same photo edited" for a
duplicate finder, and the verifier's local features do not match across one.
"""

from __future__ import annotations

from typing import Callable

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont

def _arr(im: Image.Image) -> np.ndarray:
    return np.asarray(im, np.float32)


def _img(a: np.ndarray) -> Image.Image:
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))


def barrel(im: Image.Image, k: float = 0.08) -> Image.Image:
    """Radial (barrel) lens distortion, corners kept at the corners: centre magnified by 1+k,
    edges compressed. Not a homography."""
    w, h = im.size
    cx, cy, rn = (w - 1) / 2, (h - 1) / 2, np.hypot(w / 2, h / 2)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    dx, dy = (x - cx) / rn, (y - cy) / rn
    f = (1 + k * (dx * dx + dy * dy)) / (1 + k)
    mx, my = (cx + dx * f * rn).astype(np.float32), (cy + dy * f * rn).astype(np.float32)
    return Image.fromarray(cv2.remap(np.asarray(im), mx, my, cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT))


def insta_square(im: Image.Image, side: int = 1080) -> Image.Image:
    """Whole photo fitted in a square; the rest filled with a blurred, enlarged, darkened copy."""
    w, h = im.size
    s = max(w, h)
    cover = im.resize((round(w * s / min(w, h)), round(h * s / min(w, h))), Image.Resampling.LANCZOS)
    cw, ch = cover.size
    bg = cover.crop(((cw - s) // 2, (ch - s) // 2, (cw - s) // 2 + s, (ch - s) // 2 + s))
    bg = ImageEnhance.Brightness(bg.filter(ImageFilter.GaussianBlur(s / 30))).enhance(0.8)
    bg.paste(im, ((s - w) // 2, (s - h) // 2))
    return bg.resize((side, side), Image.Resampling.LANCZOS)


def crop_4x5(im: Image.Image) -> Image.Image:
    """Centre crop to 4:5 portrait (Instagram), then at most 1080 wide."""
    w, h = im.size
    if w / h > 0.8:
        cw, ch = round(h * 0.8), h
    else:
        cw, ch = w, round(w / 0.8)
    out = im.crop(((w - cw) // 2, (h - ch) // 2, (w - cw) // 2 + cw, (h - ch) // 2 + ch))
    if cw > 1080:
        out = out.resize((1080, 1350), Image.Resampling.LANCZOS)
    return out


def portrait_blur(im: Image.Image) -> Image.Image:
    """Phone 'portrait mode': everything outside a feathered central ellipse blurred."""
    w, h = im.size
    y, x = np.ogrid[:h, :w]
    inside = (((x - w / 2) / (0.30 * w)) ** 2 + ((y - h / 2) / (0.38 * h)) ** 2) <= 1.0
    mask = cv2.GaussianBlur(inside.astype(np.float32), (0, 0), 0.04 * min(w, h))[..., None]
    blurred = cv2.GaussianBlur(np.asarray(im), (0, 0), 0.01 * np.hypot(w, h)).astype(np.float32)
    return _img(_arr(im) * mask + blurred * (1 - mask))


def heal(im: Image.Image) -> Image.Image:
    """Spot healing: two small round objects removed (cv2.inpaint, Telea)."""
    w, h = im.size
    mask = np.zeros((h, w), np.uint8)
    r = max(4, round(0.035 * min(w, h)))
    for fx, fy in ((0.30, 0.62), (0.72, 0.30)):
        cv2.circle(mask, (round(fx * w), round(fy * h)), r, 255, -1)
    bgr = cv2.cvtColor(np.asarray(im), cv2.COLOR_RGB2BGR)
    out = cv2.inpaint(bgr, mask, 5, cv2.INPAINT_TELEA)
    return Image.fromarray(cv2.cvtColor(out, cv2.COLOR_BGR2RGB))


_BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"


def meme(im: Image.Image) -> Image.Image:
    """Big white bold caps with a black outline, top and bottom (Impact stand-in: DejaVu Bold)."""
    out = im.copy()
    draw = ImageDraw.Draw(out)
    w, h = im.size
    for text, top in (("WHEN YOU FIND", True), ("THE DUPLICATE", False)):
        size = max(12, h // 8)
        while size > 12:
            try:
                font = ImageFont.truetype(_BOLD, size)
            except OSError:  # no DejaVu here: Pillow's own font
                font = ImageFont.load_default(size=size)
            x0, y0, x1, y1 = draw.textbbox((0, 0), text, font=font, stroke_width=max(1, size // 12))
            if x1 - x0 <= 0.92 * w:
                break
            size -= 2
        tw, th = x1 - x0, y1 - y0
        y = round(0.03 * h) if top else h - th - round(0.05 * h)
        draw.text(((w - tw) // 2 - x0, y - y0), text, font=font, fill="white",
                  stroke_width=max(1, size // 12), stroke_fill="black")
    return out


def hdr_look(im: Image.Image) -> Image.Image:
    """Tone-mapped 'HDR' look: compressed base, boosted local detail (halos), +50 % chroma."""
    lab = cv2.cvtColor(_arr(im) / 255.0, cv2.COLOR_RGB2LAB)
    L = lab[..., 0]
    base = cv2.GaussianBlur(L, (0, 0), max(im.size) / 50)
    lab[..., 0] = np.clip(50 + 0.6 * (base - 50) + 2.2 * (L - base), 0, 100)
    lab[..., 1:] *= 1.5
    return _img(cv2.cvtColor(lab, cv2.COLOR_LAB2RGB) * 255)


def faded_film(im: Image.Image) -> Image.Image:
    """Faded film: blacks lifted to 32, whites down to 228, desaturated, warm, clumpy grain."""
    a = _arr(ImageEnhance.Color(im).enhance(0.75))
    a = 32 + a * (228 - 32) / 255 * np.array([1.03, 1.0, 0.94])
    rng = np.random.default_rng(11)
    grain = cv2.GaussianBlur(rng.normal(0, 1, a.shape[:2]).astype(np.float32), (0, 0), 0.8)
    grain *= 7 / grain.std()
    return _img(a + grain[..., None])


def dehaze(im: Image.Image) -> Image.Image:
    """Dark-channel-prior dehaze (omega 0.8, smoothed transmission, floor 0.3)."""
    I = _arr(im) / 255.0
    w, h = im.size
    ksz = max(3, min(w, h) // 40) | 1
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (ksz, ksz))
    dark = cv2.erode(I.min(axis=2), kernel)
    top = dark.ravel() >= np.quantile(dark, 0.999)
    A = np.maximum(I.reshape(-1, 3)[top].max(axis=0), 0.5)
    t = 1 - 0.8 * cv2.erode((I / A).min(axis=2), kernel)
    t = np.maximum(cv2.GaussianBlur(t, (0, 0), ksz), 0.3)[..., None]
    return _img(((I - A) / t + A) * 255)


def tilt_black(im: Image.Image) -> Image.Image:
    """A 2 degree turn, not cropped: black corners, same canvas."""
    return im.rotate(2.0, resample=Image.Resampling.BICUBIC, expand=False, fillcolor=(0, 0, 0))


def mosaic(im: Image.Image) -> Image.Image:
    """A face-sized box pixelated (8 x 10 blocks), as apps blur a face or number plate."""
    w, h = im.size
    box = (round(0.46 * w), round(0.24 * h), round(0.64 * w), round(0.46 * h))
    region = im.crop(box)
    small = region.resize((8, 10), Image.Resampling.BILINEAR)
    out = im.copy()
    out.paste(small.resize(region.size, Image.Resampling.NEAREST), box[:2])
    return out


def crop_40(im: Image.Image) -> Image.Image:
    """40 % of the area, lower-left of centre (crop_heavy is 45 % at the top right)."""
    w, h = im.size
    share = float(np.sqrt(0.40))
    cw, ch = int(w * share), int(h * share)
    x, y = int((w - cw) * 0.15), int((h - ch) * 0.85)
    return im.crop((x, y, x + cw, y + ch))



#: name -> (edit, JPEG quality, file format)
PROBE: dict[str, tuple[Callable[[Image.Image], Image.Image], int, str]] = {
    "barrel": (barrel, 90, "jpg"),
    "insta_square": (insta_square, 85, "jpg"),
    "crop_4x5": (crop_4x5, 85, "jpg"),
    "portrait_blur": (portrait_blur, 90, "jpg"),
    "heal": (heal, 90, "jpg"),
    "meme": (meme, 85, "jpg"),
    "hdr_look": (hdr_look, 90, "jpg"),
    "faded_film": (faded_film, 90, "jpg"),
    "dehaze": (dehaze, 90, "jpg"),
    "heic_q40": (lambda im: im, 40, "heic"),
    "tilt2_black": (tilt_black, 90, "jpg"),
    "mosaic": (mosaic, 90, "jpg"),
    "crop_40": (crop_40, 90, "jpg"),
}
