"""Copy verification of a candidate pair: local features, RANSAC geometry and an aligned residual.

Global descriptors cannot tell an edited copy from another shot of the same scene. An edit is
one capture: a single global transform (similarity / perspective, possibly mirrored) maps one
image onto the other, and once aligned the two agree everywhere they overlap. Another shot shows
parallax, moving subjects, or different light, so after the best single transform some of the
image still disagrees. The verifier measures both:

1. RootSIFT on the luminance at <= 640 px (the 1000 strongest keypoints); mirrored copies are
   matched through a descriptor permutation (SIFT of a mirrored image = permuted SIFT), so no
   second extraction is needed. (512 px / 500 keypoints was measured: ~40 % faster features, but
   edit<->edit recall fell from 0.992 to 0.983 and two more zoomed shots passed as copies.)
2. Ratio-test matches, RANSAC similarity (and homography when it explains clearly more). When
   the inliers fit it only loosely, a radial bend about one image's centre is tried as well (a
   lens-profile correction or a fisheye look: one parameter, which parallax does not follow).
3. The higher-resolution image is warped onto the other's frame (at its working scale). Per 16 px
   tile the cosine between the two gradient fields is taken (gradients make it blind to
   brightness/contrast/tone edits): a copy agrees in nearly every textured tile, another shot
   fails where there is parallax or motion. A tile counts only where its detail stands above
   the grain the two images do not share (noise or JPEG blocks an edit added, measured where
   one of them is flat, and at most what the whole overlap measures: grain is everywhere, a
   sticker is not), so film grain does not make a copy "another shot". An image heavily
   JPEG-compressed (its 8 px block edges step twice its other pixels) has no fine detail
   left to compare: the pair is then compared blurred to the detail it still carries.
4. Detail that does not line up: an edit keeps the photo's detail where it was, or removes or
   covers it on one side (blur, a caption, a border). Where both images carry about the same
   amount of detail but it points differently, the picture itself moved: a subject between two
   frames, parallax, or real detail of a zoomed-in shot that an enlarged crop cannot have.
   Content laid over one image (a tiled watermark, a caption, stickers) disagrees with the
   photo too, but one-sidedly: wherever the two differ, that image is the richer, or flat
   paint (a sticker's fill). Those tiles are set aside and the rest must agree (two captures
   differ both ways: a subject leaves one place and fills another).
5. Two photometric checks catch captures that align perfectly (tripod brackets, zoomed shots):
   an edit derives one image from the other, so detail is lost in one direction only, and a
   tone curve per region (8 x 8 cells) maps one onto the other: one curve for a brightness or
   contrast edit, a curve varying across the photo for a vignette or local contrast (an "auto
   enhance"). Two captures each have detail the other lacks (highlights in the dark frame,
   shadows in the bright one), or light that no curve explains. Detail lost under a flat
   mid-tone patch does not count: that is paint (a sticker, a caption box), where clipping
   leaves black or white.
   (One global curve refused every vignetted and CLAHE copy in bench/unseen_edits.py and none
   of the nd-scenes candidate pairs, which the other checks refuse first.)

Thresholds (VerifyParams) are round values chosen by looking at the distributions of these
measurements on a sample of nd-dev copy pairs and the nd-scenes pairs (so the nd-scenes figure is
not a held-out figure); bench/verify_dev.py prints the figures, also per half of the groups.
"""

from __future__ import annotations

import logging
import os
import struct
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Callable, NamedTuple, Union

import cv2
import numpy as np
from PIL import Image, ImageOps

from mgdesk.core.imaging import jpeg_quality, load_image

log = logging.getLogger(__name__)

#: Bump when the verdicts change, so cached verdicts are invalidated.
VERIFIER_VERSION = "sift-grad-28"

FEATURE_SIDE = 640
TILE = 16
#: a tile's detail must exceed this many times the unshared grain (see _compare)
GRAIN_FACTOR = 4.0
#: an image whose 8 px JPEG block edges step this many times more than its other pixels is
#: heavily compressed (quality ~25 and below; camera and web JPEGs measure 0.95-1.8 on the
#: shared data, a quality 10 copy 2-4): see LocalFeatures.blockiness
BLOCKY = 2.0
#: a JPEG whose quantisation tables are those of this quality or below is heavily compressed too,
#: however it was resized since (a photo larger than the working side averages its blocks away,
#: or a resize shifts them off the 8 px grid, but not the detail they cost)
HEAVY_JPEG_QUALITY = 30
#: ...and is compared with its partner at the detail it still carries: both blurred this much
#: (sigma, working px) before the tiles are compared, and keypoints allowed twice the jitter
COARSE_SIGMA = 2.0
#: tones are compared smoothed this much (sigma, working px): sharpening's halos (an unsharp
#: mask keeps the local mean) and grain average out; the light of another capture does not
TONE_SIGMA = 2.5
#: one image clipped at black and at white, each in at least this share of its clipped tiles
#: where the two disagree, with the other clipped in no more than that: a contrast stretch
STRETCH_END = 0.1
#: a copy rotated by more than this against another is "turned" (small_rotate edits are 4-9°; a
#: straight crop or resize measures well under 1°)
TURN_DEGREES = 2.0
#: Too few matches between two photos are evidence against a copy only when both have at least
#: this many keypoints (of the 1000 a textured photo at the working side gives); a thumbnail
#: has a few hundred, and then the verdict is undecided (see Verdict.undecided)
UNDECIDED_KEYPOINTS = 400
#: Bump when PairVerifier.features() extracts something else (loader, keypoints, their positions,
#: the luminance) or LocalFeatures' serialisation changes: it keys the per-photo feature cache,
#: which, unlike cached verdicts, outlives changes to the decision rules.
FEATURE_VERSION = "sift-lf1"

#: matched points within this share of the canvas side of the same place on both canvases are
#: "in place", and when they leave a strip of at least OVERLAY_GAP of the canvas without one
#: (what an overlay leaves; a copy's matches cover it), the aligned photos are compared away
#: from them (Verdict.agree_apart)
IN_PLACE = 0.05
OVERLAY_GAP = 0.3

ImageLike = Union[str, os.PathLike, Image.Image, "LocalFeatures"]


def _mirror_permutation() -> np.ndarray:
    """Index map turning the SIFT descriptor of a patch into that of its mirror image.

    OpenCV lays a descriptor out as 4x4 spatial cells x 8 orientation bins in the keypoint's
    canonical frame; mirroring the image flips that frame's y axis (row r -> 3-r) and negates
    angles (bin o -> -o mod 8).
    """
    perm = np.zeros(128, dtype=np.int64)
    for r in range(4):
        for c in range(4):
            for o in range(8):
                perm[(r * 4 + c) * 8 + o] = ((3 - r) * 4 + c) * 8 + (-o) % 8
    return perm


_MIRROR = _mirror_permutation()


@dataclass(frozen=True)
class VerifyParams:
    """Decision thresholds; the shipped values were calibrated on half of the dev groups."""

    ratio: float = 0.8  # Lowe ratio test
    ransac_px: float = 4.0  # reprojection threshold at the feature scale
    min_inliers: int = 8
    min_inlier_ratio: float = 0.15
    tile_agree_cos: float = 0.8  # a tile agrees when its gradient fields' cosine is at least this
    min_agree_fraction: float = 0.85  # share of textured overlap tiles that must agree
    # tiles whose two images have detail of like strength (within 2x) that does not agree: at
    # most this share of the textured overlap, and no fewer tiles than min_moved_tiles count
    max_moved_detail: float = 0.05
    min_moved_tiles: int = 16
    min_tiles: int = 6  # fewer textured tiles than this: not enough evidence for a copy
    min_coverage: float = 0.8  # share of the smaller image covered by the other one
    max_texture_loss: float = 0.01  # detail missing both ways: two captures
    max_tone_outliers: float = 0.3  # pixels off the best tone curve of their region
    # two images that disagree there mostly where one is clipped black or white are two
    # exposures (a bracket: 0.92 of its tiles), not two edits of one photo (at most 0.10 in
    # bench/unseen_edits.py)
    max_clipped_share: float = 0.3
    # where the aligned images disagree, one has the more detail in at least this share of the
    # tiles: content was laid over it (see _added_side)
    min_added_side: float = 0.9
    tone_regions: int = 8  # the tone curve is fitted per cell of this many x this many
    # the same pixels give the same keypoints: median inlier error (px) stays sub-pixel
    max_match_error: float = 0.5


@dataclass(frozen=True, eq=False)
class LocalFeatures:
    """What the verifier needs of one photo; compute once per photo and reuse for every pair."""

    width: int
    height: int
    points: np.ndarray  # (n, 2) float32 keypoint positions at the working scale
    raw: np.ndarray = field(repr=False)  # (n, 128) uint8 SIFT (compact; RootSIFT derives from it)
    gray: np.ndarray = field(repr=False)  # (h, w) uint8 luminance at the working scale
    jpeg_quality: int | None = None  # of the file, when a JPEG (imaging.jpeg_quality)

    @cached_property
    def descriptors(self) -> np.ndarray:
        """(n, 128) float32 RootSIFT, L2-normalised; kept, since every pair a photo is in needs it."""
        return _rootsift(self.raw)

    @cached_property
    def blockiness(self) -> float:
        """How much more the luminance steps across 8 px block edges than elsewhere (1: not at all).

        Heavy JPEG compression leaves a grid of block edges and little detail inside the blocks;
        measured on the working luminance, so only where it was not resized (photos up to the
        working side: messenger copies and web images; a larger photo's blocks are averaged
        away by the resize).
        """
        g = self.gray.astype(np.float32)

        def edge_ratio(steps: np.ndarray) -> float:
            at_edge = (np.arange(len(steps)) % 8) == 7
            if at_edge.sum() < 4:
                return 1.0
            return float(steps[at_edge].mean() / (steps[~at_edge].mean() + 1e-6))

        if g.shape[0] < 16 or g.shape[1] < 16:
            return 1.0
        return 0.5 * (edge_ratio(np.abs(np.diff(g, axis=1)).mean(axis=0))
                      + edge_ratio(np.abs(np.diff(g, axis=0)).mean(axis=1)))

    @property
    def heavily_compressed(self) -> bool:
        """Compared at the detail it still carries (COARSE_SIGMA): its blocks show (BLOCKY) or
        its file says so (HEAVY_JPEG_QUALITY)."""
        return self.blockiness >= BLOCKY or \
            (self.jpeg_quality is not None and self.jpeg_quality <= HEAVY_JPEG_QUALITY)

    def __getstate__(self) -> dict:  # pickle the compact fields only, not the cached values
        return {k: v for k, v in self.__dict__.items() if k not in ("descriptors", "blockiness")}

    def to_bytes(self) -> bytes:
        """A compact, self-describing serialisation for a per-photo cache (no pickle needed).

        Keypoints as float32, SIFT as uint8, the luminance losslessly as PNG, so a verdict from
        restored features equals one from fresh features.
        """
        pts = np.ascontiguousarray(self.points, dtype="<f4")
        raw = np.ascontiguousarray(self.raw, dtype=np.uint8)
        ok, png = cv2.imencode(".png", np.ascontiguousarray(self.gray, dtype=np.uint8),
                               [cv2.IMWRITE_PNG_COMPRESSION, 3])
        if not ok:  # pragma: no cover - PNG encoding of a uint8 array does not fail
            raise ValueError("could not encode the luminance")
        head = struct.pack(_HEADER, _MAGIC, _FORMAT, self.width, self.height, len(pts), len(png),
                           self.jpeg_quality or 0)
        return head + pts.tobytes() + raw.tobytes() + png.tobytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> "LocalFeatures":
        """Inverse of to_bytes; raises ValueError for data it did not write (or an old format)."""
        size = struct.calcsize(_HEADER)
        if len(data) < size:
            raise ValueError("not serialised LocalFeatures: too short")
        magic, fmt, width, height, n, n_png, quality = struct.unpack_from(_HEADER, data)
        if magic != _MAGIC or fmt != _FORMAT:
            raise ValueError(f"not serialised LocalFeatures (format {fmt!r})")
        if len(data) != size + 8 * n + 128 * n + n_png:
            raise ValueError("serialised LocalFeatures: wrong length (truncated?)")
        pts = np.frombuffer(data, "<f4", 2 * n, size).reshape(n, 2).astype(np.float32)
        raw = np.frombuffer(data, np.uint8, 128 * n, size + 8 * n).reshape(n, 128).copy()
        png = np.frombuffer(data, np.uint8, n_png, size + 136 * n)
        gray = cv2.imdecode(png, cv2.IMREAD_GRAYSCALE)
        if gray is None or gray.shape != (height, width):
            raise ValueError("serialised LocalFeatures: corrupt luminance")
        return cls(width=width, height=height, points=pts, raw=raw, gray=gray,
                   jpeg_quality=quality or None)


_MAGIC = b"MGLF"
_FORMAT = 2  # bump when LocalFeatures' content changes (e.g. another working size)
_HEADER = "<4sHIIIIB"


@dataclass(frozen=True)
class Verdict:
    """The verifier's answer for one pair and the evidence behind it."""

    is_copy: bool
    score: float  # 0..1, how confidently this is a copy
    inliers: int
    inlier_ratio: float
    residual: float  # 1 - share of agreeing tiles (0: identical once aligned)
    transform: str
    reason: str
    # share of each image's canvas that shows the photo: 1.0 unless the part the other image
    # lacks is a frame (a border, a screen around it); keep-best does not count frames as detail
    photo_a: float = 1.0
    photo_b: float = 1.0
    # share of each image's canvas that the other one covers (1.0: all of it is in the other;
    # 0.0 unless measured, which only a copy is)
    covered_a: float = 0.0
    covered_b: float = 0.0
    # how the pair differs besides its content (measured for copies only; keep-best reads them):
    # one is rotated (beyond TURN_DEGREES) or mirrored against the other, and the typical
    # grey-level difference once aligned (a brightness or contrast edit; re-encoding moves ~1)
    turned: bool = False
    tone_shift: float = 0.0
    # refused only for want of evidence (a partial overlap, too little texture, too few matches
    # for want of keypoints), not on evidence against a copy: grouping lets a common copy vouch
    # for such a pair
    undecided: bool = False
    # refused only because the aligned images differ as two edits of one photo may (a filter
    # and a watermark add up): no detail moved and clipping is not where they differ (two
    # exposures). Grouping lets a common copy vouch for such a pair as well
    edits_apart: bool = False
    # what refused a pair whose images align, when two edits of one photo can differ so too:
    # "moved" (detail of like strength does not line up, clipping not where they differ: a
    # moving subject, or a watermark against a sharpened copy), "lost" (each has detail the
    # other lacks: two exposures, or noise against a watermark), "tones" (no tone curve maps
    # one onto the other: other light, or a vignette against a sharpened copy), "geometry"
    # (matched points disagree by up to twice max_match_error: parallax, or two edits each
    # within the limit of one photo, a noisy copy against a stretched one). A copy of both
    # can tell which (PairVerifier.edits_explain); "" otherwise
    against: str = ""
    # the fitted transform, a's working pixels to b's (b mirrored first when `mirrored`): row-major
    # 3 x 3, empty when no transform was fitted (see pixel_map)
    homography: tuple[float, ...] = ()
    mirrored: bool = False
    # where the inliers sit: the widest strip across a whole canvas (its full width or height)
    # without one, as a share of that canvas (the narrower of the two images' strips), and how
    # far they are from sitting in the same place on both canvases (median, from the nearest
    # common anchor, a corner, an edge's middle or the centre, in shares of the larger canvas
    # side; or in proportion, in shares of each canvas's width and height). When they sit in
    # place (canvas_shift <= IN_PLACE) leaving a gap of OVERLAY_GAP or more, agree_apart is the
    # share of the textured tiles away from them that agree once aligned (1.0 when not
    # measured): two shots from one place agree there, two photos under one app frame or one
    # photographer's mark do not. Grouping reads them to tell something laid on both photos
    # from a shared scene (_Context._laid_on_both)
    gap: float = 0.0
    canvas_shift: float = 1.0
    agree_apart: float = 1.0


def map_scale(m: np.ndarray) -> float:
    """How many of the target's pixels a 3 x 3 map takes one source pixel to (linear, on average)."""
    return float(np.sqrt(abs(np.linalg.det(m[:2, :2]))))


def pixel_map(v: Verdict, a: "LocalFeatures", b: "LocalFeatures") -> np.ndarray | None:
    """The 3 x 3 map from a's working pixels to b's (b as it is, not mirrored) of a verdict
    computed for (a, b); None when the verdict fitted no transform."""
    if len(v.homography) != 9:
        return None
    H = np.asarray(v.homography, np.float64).reshape(3, 3)
    if v.mirrored:  # H maps into mirrored b: mirror back
        H = np.array([[-1.0, 0.0, b.width - 1.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]) @ H
    return H


def _rootsift(desc: np.ndarray) -> np.ndarray:
    if len(desc) == 0:
        return np.zeros((0, 128), np.float32)
    desc = desc.astype(np.float32)
    desc /= desc.sum(axis=1, keepdims=True) + 1e-7
    return np.sqrt(desc)  # unit L2 norm since the L1 norm is 1


def _load(path: str | os.PathLike, max_side: int) -> tuple[Image.Image, int | None]:
    """The photo upright, at most max_side on its long side, and its JPEG quality (if one)."""
    loaded = load_image(path, max_side=max_side)  # the house loader (EXIF, formats, errors)
    return loaded.image, loaded.info.jpeg_quality


class PairVerifier:
    """Decides whether two photos are edits of one capture. Stateless apart from the params;
    safe to share between threads (OpenCV objects are created per call)."""

    def __init__(self, params: VerifyParams | None = None, feature_side: int = FEATURE_SIDE,
                 max_keypoints: int = 1000) -> None:
        self.params = params or VerifyParams()
        self.feature_side = feature_side
        self.max_keypoints = max_keypoints

    # -- per photo -----------------------------------------------------------------------
    def features(self, image_or_path: ImageLike) -> LocalFeatures:
        """Keypoints, descriptors and the working luminance of one photo (EXIF orientation applied).

        Raises the loader's ImageLoadError for unreadable files.
        """
        if isinstance(image_or_path, LocalFeatures):
            return image_or_path
        if isinstance(image_or_path, Image.Image):
            quality = jpeg_quality(image_or_path)
            im = ImageOps.exif_transpose(image_or_path) if image_or_path.getexif() else image_or_path
            im = im.convert("RGB")
            if max(im.size) > self.feature_side:
                im = im.copy()
                im.thumbnail((self.feature_side, self.feature_side), Image.Resampling.LANCZOS)
        else:
            im, quality = _load(image_or_path, self.feature_side)
        gray = np.asarray(im.convert("L"), dtype=np.uint8)
        sift = cv2.SIFT_create(nfeatures=self.max_keypoints)
        kps, desc = sift.detectAndCompute(gray, None)
        if desc is None or not kps:
            pts = np.zeros((0, 2), np.float32)
            raw = np.zeros((0, 128), np.uint8)
        else:
            # OpenCV's SIFT reports positions 0.25 px too far right/down (its doubled first
            # octave); unbiased positions matter for 90/180° and mirrored alignments
            pts = np.array([k.pt for k in kps], dtype=np.float32) - 0.25
            raw = np.clip(np.rint(desc), 0, 255).astype(np.uint8)  # OpenCV's values are integral
        return LocalFeatures(width=gray.shape[1], height=gray.shape[0], points=pts, raw=raw,
                             gray=gray, jpeg_quality=quality)

    def closer_look(self, path: str | os.PathLike, side: int) -> "LocalFeatures":
        """The luminance of one photo at up to `side` px on its long side (no larger than the
        file holds), without keypoints: a common copy seen at the detail of the edits it is
        asked to explain (edits_explain), when those are crops shown larger than it is."""
        im, quality = _load(path, side)
        gray = np.asarray(im.convert("L"), dtype=np.uint8)
        return LocalFeatures(width=gray.shape[1], height=gray.shape[0],
                             points=np.zeros((0, 2), np.float32), raw=np.zeros((0, 128), np.uint8),
                             gray=gray, jpeg_quality=quality)

    # -- per pair ------------------------------------------------------------------------
    def evidence(self, a: ImageLike, b: ImageLike) -> "Evidence":
        """The measurements behind a verdict (geometry, overlap, aligned agreement)."""
        fa, fb = self.features(a), self.features(b)
        p = self.params
        if len(fa.points) < 4 or len(fb.points) < 4:
            return Evidence(0, 0, 0.0, None, False, "none", 0.0, 0, 0.0,
                            min(len(fa.points), len(fb.points)))
        best = None
        for mirrored in (False, True):
            if mirrored:
                db = fb.descriptors[:, _MIRROR]  # RootSIFT is per element: permuting commutes
                pb = fb.points.copy()
                pb[:, 0] = fb.width - 1 - pb[:, 0]
            else:
                db, pb = fb.descriptors, fb.points
            ia, ib = _ratio_matches(fa.descriptors, db, p.ratio)
            if len(ia) < max(4, p.min_inliers):  # cannot reach min_inliers: skip RANSAC
                cand = (0, len(ia), mirrored, "none", None, 9.0, None, None, None, None, None)
            else:
                model, H, mask = _fit(fa.points[ia], pb[ib], p.ransac_px)
                n = int(mask.sum()) if mask is not None else 0
                err = _match_error(fa.points[ia][mask], pb[ib][mask], H) if n else 9.0
                if model == "similarity" and err > p.max_match_error and \
                        min(len(fa.points), len(fb.points)) < UNDECIDED_KEYPOINTS:
                    model, H, mask, n, err = _tighter(fa.points[ia], pb[ib], p, model, H, mask, n,
                                                      err, (fa.width, fa.height), (fb.width, fb.height))
                cand = (n, len(ia), mirrored, model, H, err, fa.points[ia][mask] if n else None,
                        pb[ib][mask] if n else None, fa.points[ia], pb[ib], mask)
            if best is None or cand[0] > best[0]:
                best = cand
            if not mirrored and best[0] >= max(3 * p.min_inliers, 40) and best[0] >= 0.5 * best[1]:
                break  # a clear direct match; no need to try the mirror
        n_in, n_match, mirrored, model, H, err, in_a, in_b, all_a, all_b, inl = best
        if H is None or n_in < 4:
            return Evidence(n_in, n_match, n_in / max(n_match, 1), None, mirrored, "none",
                            0.0, 0, 0.0, min(len(fa.points), len(fb.points)), match_error=err)
        # a heavily compressed image has lost its fine detail to 8 px blocks: compare the two
        # at the detail it still carries, not the blocks
        coarse = fa.heavily_compressed or fb.heavily_compressed
        bend = 0.0
        limit = p.max_match_error * (2.0 if coarse else 1.0)
        if err > limit and n_in >= p.min_inliers and n_in >= p.min_inlier_ratio * n_match:
            # one capture seen through another lens correction: the bend is about the centre of
            # the image it was applied to (or taken out of), which is either one, a crop of the
            # other included
            size_a, size_b = (fa.width, fa.height), (fb.width, fb.height)
            bent_a = _unbend(all_a, all_b, inl, size_a, p, limit)
            bent_b = _unbend(all_b, all_a, inl, size_b, p, limit)
            if bent_b is not None and (bent_a is None or bent_b[5] < bent_a[5]):
                bend, model, H_ba, mask, n_in, err = bent_b
                H = np.linalg.inv(H_ba)
                in_a, in_b = all_a[mask], _bent(all_b[mask], size_b, bend)
                fb = replace(fb, gray=_unbent_gray(fb.gray, bend), points=_bent(fb.points, size_b, bend))
            elif bent_a is not None:
                bend, model, H, mask, n_in, err = bent_a
                in_a, in_b = _bent(all_a[mask], size_a, bend), all_b[mask]
                fa = replace(fa, gray=_unbent_gray(fa.gray, bend), points=_bent(fa.points, size_a, bend))
        gap, shift = _placement(in_a, in_b, (fa.width, fa.height), (fb.width, fb.height))
        gb = fb.gray[:, ::-1] if mirrored else fb.gray
        photo_a = photo_b = 1.0
        covered_a = covered_b = 0.0
        apart = 1.0
        try:
            aligned = _align(fa.gray, gb, H)
            c = _aligned_agreement(aligned, p, coarse)
            if c.agree >= p.min_agree_fraction:  # only a copy needs it (for keep-best)
                photo_a, photo_b, covered_a, covered_b = _photo_shares(fa.gray, gb, H)
            if shift <= IN_PLACE and gap >= OVERLAY_GAP:
                apart = _agreement_apart(aligned, in_b if aligned.in_b else in_a, p)
        except (cv2.error, np.linalg.LinAlgError) as exc:  # numerically degenerate transform
            log.debug("alignment failed: %s", exc)
            c = _Comparison(0.0, 0, 0.0, 1.0, 1.0, 0.0)
        return Evidence(n_in, n_match, n_in / max(n_match, 1), H, mirrored, model,
                        c.agree, c.tiles, c.coverage, min(len(fa.points), len(fb.points)),
                        c.texture_loss, c.tone_outliers, err, c.moved_detail,
                        round(c.moved_detail * c.tiles), photo_a, photo_b, covered_a, covered_b,
                        c.tone_shift, c.clipped, c.overlay, coarse, gap, shift, apart, bend)

    def edits_explain(self, z: "LocalFeatures", x: "LocalFeatures", y: "LocalFeatures",
                      z_to_x: np.ndarray, z_to_y: np.ndarray) -> bool:
        """Whether x and y, two verified copies of z refused as a pair on evidence that two edits
        can also give (Verdict.against), differ only where one of them was edited from z.

        Compared directly, two edits of one photo that changed the same places differently (a
        watermark against a sharpened or a posterised copy) show detail of like strength that
        does not line up, as a moving subject does. Seen from z (in its frame, z_to_x and
        z_to_y mapping its working pixels to theirs) each difference is one image's edit: that
        image differs from z there and adds, removes or strengthens detail, while the other
        agrees with z. Detail that *moved* against z (like strength, pointing elsewhere) in
        either of them is not explained: a burst frame between two others is a verified copy
        of each but its subject moved, so the pair stays apart as it would on its own
        (the same share, max_moved_detail, is allowed).

        Detail each lacks is an edit of each (noise added to one, a watermark to the other)
        unless one lacks it by clipping to black or white where z has it: that is how two
        exposures differ, and a middle exposure is a verified copy of a brighter and a darker
        one. Clipping on both sides (max_texture_loss, as for a pair) is not explained.

        Tones that no curve maps from x to y are an edit where either of them is off its own
        curve from z (a vignette, sharpening halos); where both follow a curve from z, curves
        compose into one unless a curve flattened detail (clipping, posterising), so what is
        off there counts (max_tone_outliers, as for a pair).

        Each two of the three are compared as their pair was: coarser where one of them is
        heavily compressed (a JPEG at quality 10), whose blocks are not detail.
        """
        p = self.params
        gz = z.gray.astype(np.float32)
        wx, vx, _ = _warp_onto(x.gray, np.linalg.inv(z_to_x), gz.shape)
        wy, vy, _ = _warp_onto(y.gray, np.linalg.inv(z_to_y), gz.shape)
        tiles = _tiler(gz.shape)
        if tiles is None:
            return False
        vfrac = tiles((vx & vy).astype(np.float32))
        views = [gz, wx.astype(np.float32), wy.astype(np.float32)]
        blocky = [f.heavily_compressed for f in (z, x, y)]
        cache: dict[bool, tuple[list[np.ndarray], list[np.ndarray]]] = {}

        def smoothed(i: int, j: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
            """(z, x, y) at sigma 1 and 1.5 (cascaded, as _compare smooths) for comparing the
            i-th with the j-th: first blurred to the detail a heavily compressed image still
            carries when either is one, as their pair was compared."""
            coarse = blocky[i] or blocky[j]
            if coarse not in cache:
                base = [cv2.GaussianBlur(g, (0, 0), COARSE_SIGMA) for g in views] if coarse else views
                fine = [cv2.GaussianBlur(g, (0, 0), 1.0) for g in base]
                cache[coarse] = fine, [cv2.GaussianBlur(g, (0, 0), 1.118) for g in fine]
            return cache[coarse]

        blurred, (_, sx, sy) = smoothed(1, 2)
        between = _tile_diff(sx, sy, vfrac, tiles, p)
        n = int(between.use.sum())
        if n < p.min_tiles:
            return False

        def moved_from_z(i: int) -> np.ndarray:  # as in _compare: overlays did not move
            s = smoothed(0, i)[1]
            d = _tile_diff(s[0], s[i], vfrac, tiles, p)
            return d.moved(d.overlay_side(p.min_added_side))

        unexplained = int((between.differ & (moved_from_z(1) | moved_from_z(2))).sum())
        if unexplained / n > p.max_moved_detail and unexplained >= p.min_moved_tiles:
            return False
        # tones, and detail lost to clipping where z has it, at _compare's finer scales
        if not self._tones_explained(blurred, vx & vy):
            return False
        ez, ex, ey = (_energy(b, tiles) for b in blurred)
        u = (vfrac > 0.95) & (np.maximum(ex, ey) > 64.0)
        if not u.any():
            return True
        ratio = np.log((ex + 16.0) / (ey + 16.0))

        def clipped(e_poor: np.ndarray, poor: np.ndarray, e_rich: np.ndarray) -> np.ndarray:
            # the poorer one is at black or white and has less than z; the richer one did not
            # add its detail (noise, a watermark), so the poorer one lost z's detail to clipping
            added = np.log((e_rich + 16.0) / (ez + 16.0)) > np.log(2.0)
            return _at_black_or_white(tiles(poor)) & (ez > e_poor) & ~added

        lost_y = u & (ratio > np.log(4)) & clipped(ey, blurred[2], ex)
        lost_x = u & (ratio < -np.log(4)) & clipped(ex, blurred[1], ey)
        return min(float(lost_y.sum()), float(lost_x.sum())) / float(u.sum()) <= p.max_texture_loss

    def _tones_explained(self, blurred: list[np.ndarray], valid: np.ndarray) -> bool:
        """edits_explain's tone check on (z, x, y) (at sigma 1) in z's frame, compared as a
        pair's tones are (TONE_SIGMA, every 2nd pixel)."""
        n = self.params.tone_regions
        sub = valid[::2, ::2]
        if not sub.any():
            return False
        z, x, y = (_toned(b)[::2, ::2] for b in blurred)
        on_curves = ~_off_regional_curve(z, x, sub, n) & ~_off_regional_curve(z, y, sub, n) & sub
        off = max(float((_off_regional_curve(x, y, sub, n) & on_curves).sum()),
                  float((_off_regional_curve(y, x, sub, n) & on_curves).sum()))
        return off / float(sub.sum()) <= self.params.max_tone_outliers

    def verify(self, a: ImageLike, b: ImageLike) -> Verdict:
        """Verdict for the pair; symmetric up to RANSAC randomness."""
        return self.decide(self.evidence(a, b))

    def decide(self, e: "Evidence") -> Verdict:
        """Apply the thresholds to measured evidence."""
        p = self.params
        n_in, ratio = e.inliers, e.inlier_ratio
        # the share of the overlap that disagrees, content laid over one image included: agree is
        # over the rest (keep-best reads the residual as how much an edit changed)
        residual = 1.0 - e.agree * (1.0 - e.overlay) if e.tiles else 1.0
        score = _score(n_in, ratio, e.agree if e.H is not None else None, p)
        # few matches say little when one image has few features to match (a thumbnail)
        sparse = e.keypoints < UNDECIDED_KEYPOINTS
        if e.keypoints < 4:
            return Verdict(False, 0.0, 0, 0.0, 1.0, "none", "too few local features (flat image)",
                           undecided=True)
        # where the inliers sit matters to grouping even below min_inliers (see Verdict.gap)
        placed = dict(gap=e.gap, canvas_shift=e.canvas_shift, agree_apart=e.agree_apart)
        if e.H is None or n_in < p.min_inliers:
            return Verdict(False, score, n_in, ratio, residual, "none",
                           f"too few geometric matches ({n_in} inliers)", undecided=sparse, **placed)
        transform = _describe(e.model, e.H, e.mirrored)
        if e.bend:
            transform += f" after lens distortion {e.bend:+.2f}"
        fitted = dict(homography=tuple(float(x) for x in np.asarray(e.H).ravel()),
                      mirrored=e.mirrored, **placed)
        # clipping where they differ is two exposures; otherwise a common copy may tell whether
        # detail that does not line up moved or was edited (see edits_explain)
        moved_apart = e.clipped <= p.max_clipped_share
        if ratio < p.min_inlier_ratio:
            return Verdict(False, score, n_in, ratio, residual, transform,
                           f"matches do not fit one transform (inlier ratio {ratio:.2f})",
                           undecided=sparse, **fitted)
        if e.coverage < p.min_coverage:
            return Verdict(False, score, n_in, ratio, residual, transform,
                           f"the images only partly overlap ({e.coverage:.0%})", undecided=True, **fitted)
        if e.tiles < p.min_tiles:
            return Verdict(False, score, n_in, ratio, residual, transform,
                           "too little texture in the overlap to compare", undecided=True, **fitted)
        limit = p.max_match_error * (2.0 if e.coarse else 1.0)
        if e.match_error > limit:
            # two edits of one photo each within the limit of it can add up to twice as much
            # against each other (a noisy copy against a stretched one): a common copy may tell
            return Verdict(False, score, n_in, ratio, residual, transform,
                           f"matched points disagree by {e.match_error:.2f} px after alignment "
                           "(parallax or another capture)",
                           against="geometry" if e.match_error <= 2.0 * limit else "", **fitted)
        if e.agree < p.min_agree_fraction:
            moved = e.moved_detail > p.max_moved_detail and e.moved_tiles >= p.min_moved_tiles
            return Verdict(False, score, n_in, ratio, residual, transform,
                           f"aligned images differ in {1 - e.agree:.0%} of the overlap "
                           "(parallax, motion or another shot)",
                           edits_apart=not moved and moved_apart,
                           against="moved" if moved and moved_apart else "", **fitted)
        if e.moved_detail > p.max_moved_detail and e.moved_tiles >= p.min_moved_tiles:
            return Verdict(False, score, n_in, ratio, residual, transform,
                           f"both images have detail in {e.moved_detail:.0%} of the overlap that "
                           "does not line up (a moving subject, parallax or a zoomed-in shot)",
                           against="moved" if moved_apart else "", **fitted)
        if e.texture_loss > p.max_texture_loss:
            return Verdict(False, score, n_in, ratio, residual, transform,
                           f"each image has detail the other lacks ({e.texture_loss:.1%} of the "
                           "overlap): two captures, e.g. an exposure bracket", against="lost",
                           **fitted)
        if e.tone_outliers > p.max_tone_outliers:
            return Verdict(False, score, n_in, ratio, residual, transform,
                           f"no tone curve maps one onto the other ({e.tone_outliers:.0%} "
                           "of the pixels): different light or content", against="tones",
                           **fitted)
        laid = f" besides {e.overlay:.0%} laid over one (a caption, watermark or sticker)" \
            if e.overlay >= 0.01 else ""
        return Verdict(True, score, n_in, ratio, residual, transform,
                       f"one capture: {transform}, {n_in} inliers, "
                       f"{e.agree:.0%} of the overlap agrees{laid}", e.photo_a, e.photo_b,
                       e.covered_a, e.covered_b, _turned(e.H, e.mirrored), e.tone_shift, **fitted)


@dataclass(frozen=True)
class Evidence:
    """Raw measurements for one pair, before thresholds."""

    inliers: int
    matches: int
    inlier_ratio: float
    H: np.ndarray | None  # maps a's working pixels to b's (after mirroring b when mirrored)
    mirrored: bool
    model: str
    agree: float  # share of textured overlap tiles whose gradients agree
    tiles: int  # textured overlap tiles compared
    coverage: float  # share of the smaller image covered by the other
    keypoints: int = 0  # local features in the poorer of the two images
    # the photometric checks (0 = not measured when the gradient check already says no):
    texture_loss: float = 0.0  # detail missing in both directions (two captures, not an edit)
    tone_outliers: float = 0.0  # pixels no global tone curve explains
    match_error: float = 0.0  # median inlier reprojection error, in the lower-resolution image's px
    moved_detail: float = 0.0  # share of textured tiles with like detail that does not agree
    moved_tiles: int = 0  # how many tiles that is
    photo_a: float = 1.0  # share of a's canvas showing the photo (see Verdict)
    photo_b: float = 1.0
    covered_a: float = 0.0  # share of a's canvas the other covers (measured for copies only)
    covered_b: float = 0.0
    tone_shift: float = 0.0  # median grey-level difference over the overlap (see Verdict)
    clipped: float = 0.0  # share of disagreeing tiles flat black or white in one image
    overlay: float = 0.0  # share of textured tiles set aside as content laid over one image
    coarse: bool = False  # compared at COARSE_SIGMA: one image is heavily compressed (blocky)
    gap: float = 0.0  # where the inliers sit (see Verdict)
    canvas_shift: float = 1.0
    agree_apart: float = 1.0
    # radial lens distortion taken out of a or b before H (see _unbend; 0: none): H maps between
    # working pixels after _bent, so pixel_map is that much off towards that image's edges
    bend: float = 0.0


def _ratio_matches(da: np.ndarray, db: np.ndarray, ratio: float) -> tuple[np.ndarray, np.ndarray]:
    """Lowe ratio-test matches a->b, one-to-one (the closest a wins a shared b)."""
    if len(db) < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    sim = da @ db.T
    rows = np.arange(len(da))
    best = sim.argmax(axis=1)
    s1 = sim[rows, best]
    sim[rows, best] = -np.inf
    s2 = sim.max(axis=1)
    d1 = np.sqrt(np.maximum(2 - 2 * s1, 0))
    d2 = np.sqrt(np.maximum(2 - 2 * s2, 0))
    ok = d1 < ratio * d2
    ia = np.nonzero(ok)[0]
    ib = best[ok]
    # one-to-one: keep the best a for each b
    if len(ia):
        o = np.argsort(d1[ok])
        _, first = np.unique(ib[o], return_index=True)
        keep = np.sort(o[first])
        ia, ib = ia[keep], ib[keep]
    return ia, ib


def _fit(pa: np.ndarray, pb: np.ndarray, thr: float):
    """RANSAC similarity; a homography replaces it only when it explains clearly more matches."""
    A, mask_a = cv2.estimateAffinePartial2D(pa, pb, method=cv2.RANSAC, ransacReprojThreshold=thr,
                                            maxIters=2000, confidence=0.995)
    n_a = int(mask_a.sum()) if mask_a is not None else 0
    best = ("similarity", None if A is None else np.vstack([A, [0, 0, 1]]), mask_a)
    # a homography can only win by explaining 1.25x + 4 the similarity's inliers: skip it when
    # there are not that many matches
    if len(pa) >= 8 and len(pa) > 1.25 * n_a + 4:
        # USAC (SPRT, local optimisation) finds the same inliers as plain RANSAC ~10x faster,
        # most of all on the unrelated pairs the similar level asks about (measured on nd-scenes:
        # 0.56 vs 5.3 ms a pair for real pairs, 0.06 vs 4.8 for unrelated ones), and it is seeded
        H, mask_h = cv2.findHomography(pa, pb, cv2.USAC_DEFAULT, thr, maxIters=2000,
                                       confidence=0.995)
        n_h = int(mask_h.sum()) if mask_h is not None else 0
        if H is not None and n_h > 1.25 * n_a + 4 and _sane_homography(H):
            best = ("perspective", H, mask_h)
    if best[1] is None or not _sane_homography(best[1]):
        return "none", None, None  # degenerate fit (e.g. scale ~0): no usable transform
    return best[0], best[1], best[2].ravel().astype(bool)


def _tighter(pa: np.ndarray, pb: np.ndarray, p: VerifyParams, model, H, mask, n, err,
             size_a: tuple[int, int], size_b: tuple[int, int]):
    """A perspective fit in place of a similarity that explains the matches only loosely.

    With few keypoints (a thumbnail) a homography cannot win on inlier count, so a keystone
    correction was fitted as a similarity whose inliers sit a pixel apart, and refused as
    parallax. It replaces the similarity when it keeps nearly all of its inliers at sub-pixel
    error and one image lies within the other, as an edit's does: parallax fits no single
    homography that tightly, and two shots of a turning camera (a panorama) fit one exactly
    but each shows what the other does not. (Tried for every pair rather than only those
    with few keypoints, it cost the similar level 5 of its 348 nd-scenes pairs.)"""
    if len(pa) < 8:
        return model, H, mask, n, err
    Hh, mask_h = cv2.findHomography(pa, pb, cv2.USAC_DEFAULT, p.ransac_px, maxIters=2000,
                                    confidence=0.995)
    if Hh is None or mask_h is None or not _sane_homography(Hh):
        return model, H, mask, n, err
    mask_h = mask_h.ravel().astype(bool)
    n_h = int(mask_h.sum())
    err_h = _match_error(pa[mask_h], pb[mask_h], Hh) if n_h else 9.0
    # a homography passes exactly through any 4 matches: fewer than min_inliers prove nothing,
    # and their zero error would pass for a tight fit (6 of 32 tentative matches between a
    # street and a tower backed them as one scene)
    if n_h >= max(0.9 * n, p.min_inliers) and err_h <= p.max_match_error and \
            (_inside(Hh, size_a, size_b) or _inside(np.linalg.inv(Hh), size_b, size_a)):
        return "perspective", Hh, mask_h, n_h, err_h
    return model, H, mask, n, err


def _bent(pts: np.ndarray, size: tuple[int, int], k: float) -> np.ndarray:
    """Points moved radially about the canvas centre: r -> r (1 + k r²), r in shares of the
    half diagonal (a lens bend: |k| 0.02 moves a corner by 2 % of the half diagonal; profile
    corrections of wide and kit lenses reach about 0.1)."""
    if not k:
        return pts
    w, h = size
    c = np.array([(w - 1) / 2.0, (h - 1) / 2.0], np.float32)
    rho2 = (w * w + h * h) / 4.0
    d = pts.astype(np.float32) - c
    return (c + d * (1.0 + k * (d * d).sum(axis=1, keepdims=True) / rho2)).astype(np.float32)


def _unbent_gray(gray: np.ndarray, k: float) -> np.ndarray:
    """The image as _bent moves its points: each output pixel sampled where _bent came from
    (the inverse found by fixed-point steps; |k| is small, so three suffice)."""
    h, w = gray.shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    q = np.stack([xs.ravel(), ys.ravel()], axis=1)
    src = q.copy()
    for _ in range(3):  # solve _bent(src) = q
        src = src + (q - _bent(src, (w, h), k))
    mx, my = src[:, 0].reshape(h, w), src[:, 1].reshape(h, w)
    return cv2.remap(gray, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def _unbend(pa: np.ndarray, pb: np.ndarray, inliers: np.ndarray, size_a: tuple[int, int],
            p: VerifyParams, limit: float):
    """(k, model, H, inlier mask, inliers, error) when a's matches, bent radially by some k,
    fit one transform within `limit` while keeping nearly all of the inliers; else None.

    A lens-profile correction (or a fisheye filter) bends one copy against the other: no
    single transform fits it, so it was refused on match error as parallax. A bend about the
    centre is one parameter, and parallax (points moving by their depth) or a moving subject
    does not follow it; whatever it leaves is judged by the aligned comparison as before.
    k is searched on a grid, each k judged by an affine least-squares fit to the inliers (cheap:
    most pairs that come here are other shots, whose error no bend takes away); the transform
    is then fitted at the best k as any pair's is."""
    n = int(inliers.sum())
    ia, ib = pa[inliers].astype(np.float64), pb[inliers].astype(np.float64)
    w, h = size_a
    d = ia - [(w - 1) / 2.0, (h - 1) / 2.0]
    along = d * ((d * d).sum(axis=1, keepdims=True) / ((w * w + h * h) / 4.0))  # d bent / d k

    def spread(k: float) -> float:  # median distance left by the best affine map at this k
        X = np.hstack([ia + k * along, np.ones((len(ia), 1))])
        A, *_ = np.linalg.lstsq(X, ib, rcond=None)
        return float(np.median(np.linalg.norm(X @ A - ib, axis=1)))

    best_k, best_err = 0.0, spread(0.0)
    straight = best_err
    for steps in _BEND_GRID:
        for k in best_k + steps:
            e = spread(float(k))
            if e < best_err:
                best_k, best_err = float(k), e
    if abs(best_k) < 0.005 or best_err > 0.5 * straight:  # a bend explains little of it
        return None
    qa = _bent(pa, size_a, best_k)
    model, H, mask = _fit(qa, pb, p.ransac_px)
    if H is None or int(mask.sum()) < max(0.9 * n, p.min_inliers):
        return None
    err = _match_error(qa[mask], pb[mask], H)
    return (best_k, model, H, mask, int(mask.sum()), err) if err <= limit else None


#: the bends _unbend tries: coarse, then finer about the best so far
_BEND_GRID = (np.arange(-0.2, 0.201, 0.02), np.arange(-0.02, 0.021, 0.005))

#: the corners, the edges' middles and the centre of a canvas, in shares of its width and height
_ANCHORS = np.array([(ax, ay) for ax in (0.0, 0.5, 1.0) for ay in (0.0, 0.5, 1.0)])


def _placement(pa: np.ndarray | None, pb: np.ndarray | None, size_a: tuple[int, int],
               size_b: tuple[int, int]) -> tuple[float, float]:
    """(gap, canvas shift) of matched points in two canvases (see Verdict.gap).

    The shift is measured from nine anchors and in proportion because what is laid on photos
    of different sizes keeps its place relative to one of them: an app's title bar to the top
    left, a caption to the centre, a watermark to a corner or in proportion to the photo; and
    from each anchor also scaled as the canvas's width or height, as a whole screenshot
    resized is."""
    if pa is None or pb is None or not len(pa):
        return 0.0, 1.0
    (wa, ha), (wb, hb) = size_a, size_b

    def gap(pts: np.ndarray, w: int, h: int) -> float:
        widest = 0.0
        for axis, length in ((0, w), (1, h)):
            edges = np.concatenate([[0.0], np.sort(pts[:, axis]), [float(length)]])
            widest = max(widest, float(np.diff(edges).max()) / length)
        return widest

    # every (scale, anchor) at once: this runs for every verified pair
    scales = np.array(sorted({1.0, wb / wa, hb / ha}))[:, None, None, None]
    anchors_a, anchors_b = ((_ANCHORS * size)[None, :, None, :] for size in ((wa, ha), (wb, hb)))
    d = scales * (pa - anchors_a) - (pb - anchors_b)
    anchored = float(np.median(np.hypot(d[..., 0], d[..., 1]), axis=-1).min()) / max(wa, ha, wb, hb)
    d = pa / [wa, ha] - pb / [wb, hb]
    proportional = float(np.median(np.hypot(d[:, 0], d[:, 1])))
    return min(gap(pa, wa, ha), gap(pb, wb, hb)), min(anchored, proportional)


def _agreement_apart(aligned: "_Aligned", pts: np.ndarray, p: VerifyParams) -> float:
    """Share of the overlap tiles textured in either image and more than a tile away from every
    matched point (`pts`, in the target's frame) whose gradients agree once aligned; 1.0 when
    there are too few such tiles to tell.

    Two shots from one place agree beyond their matched points (a tripod bracket, a burst);
    something laid on two different photos in one place (an app's frame, a watermark) agrees
    only where it is: the photos around it differ."""
    tgt, warped, valid = aligned.target, aligned.warped, aligned.valid
    tiles = _tiler(tgt.shape)
    if tiles is None or not valid.any():
        return 1.0
    ea, eb, cos = _gradient_tiles(*(_gradients(cv2.GaussianBlur(x.astype(np.float32), (0, 0), 1.5))
                                    for x in (tgt, warped)), tiles)
    use = (tiles(valid.astype(np.float32)) > 0.95) & (np.maximum(ea, eb) > 64.0)
    near = np.zeros(use.shape, np.uint8)
    ij = np.clip((pts // TILE).astype(int), 0, [near.shape[1] - 1, near.shape[0] - 1])
    near[ij[:, 1], ij[:, 0]] = 1
    away = use & (cv2.dilate(near, np.ones((3, 3), np.uint8)) == 0)
    if away.sum() < p.min_tiles:
        return 1.0
    return float((cos[away] >= p.tile_agree_cos).mean())


def _inside(H: np.ndarray, size_from: tuple[int, int], size_to: tuple[int, int],
            tolerance: float = 0.02) -> bool:
    """Whether H maps the whole of one canvas into the other (within a small margin)."""
    w, h = size_from
    W, T = size_to
    corners = cv2.perspectiveTransform(np.float64([[[0, 0], [w, 0], [w, h], [0, h]]]), H)[0]
    return bool(np.all(corners[:, 0] >= -tolerance * W) and np.all(corners[:, 0] <= (1 + tolerance) * W)
                and np.all(corners[:, 1] >= -tolerance * T) and np.all(corners[:, 1] <= (1 + tolerance) * T))


def _match_error(pa: np.ndarray, pb: np.ndarray, H: np.ndarray) -> float:
    """Median reprojection error of inliers, in pixels of the lower-resolution image."""
    proj = cv2.perspectiveTransform(pa[None].astype(np.float64), H)[0]
    err = np.linalg.norm(proj - pb, axis=1)
    scale = map_scale(H)
    return float(np.median(err) / max(scale, 1.0))


def _sane_homography(H: np.ndarray) -> bool:
    det = np.linalg.det(H[:2, :2])
    return 1e-3 < abs(det) < 1e3 and abs(H[2, 0]) < 0.01 and abs(H[2, 1]) < 0.01


def _angle(H: np.ndarray) -> float:
    """Rotation of a similarity (or of a homography's linear part), in degrees."""
    return float(np.degrees(np.arctan2(H[1, 0], H[0, 0])))


def _turned(H: np.ndarray | None, mirrored: bool) -> bool:
    return mirrored or (H is not None and abs(_angle(H)) > TURN_DEGREES)


def _describe(model: str, H: np.ndarray, mirrored: bool) -> str:
    scale = map_scale(H)
    angle = _angle(H)
    parts = ["mirrored" if mirrored else "", model, f"rotation {angle:+.0f}°", f"scale {scale:.2f}"]
    return " ".join(x for x in parts if x)


class _Aligned(NamedTuple):
    """Two images in one frame (_align): the target, the other warped onto it, where it is
    valid, the share of the smaller image the other covers, and whether the target is b."""

    target: np.ndarray
    warped: np.ndarray
    valid: np.ndarray
    coverage: float
    in_b: bool


def _align(ga: np.ndarray, gb: np.ndarray, H: np.ndarray) -> _Aligned:
    """Warp onto the lower-resolution image's frame (at its working scale)."""
    scale = map_scale(H)  # b pixels per a pixel
    if scale < 1:  # b holds the photo at lower resolution: compare in b's frame
        tgt, src, M = gb, ga, H
    else:
        tgt, src, M = ga, gb, np.linalg.inv(H)
    warped, valid, coverage = _warp_onto(src, M, tgt.shape)
    return _Aligned(tgt, warped, valid, coverage, scale < 1)


def _warp_onto(src: np.ndarray, M: np.ndarray, shape: tuple[int, ...]
               ) -> tuple[np.ndarray, np.ndarray, float]:
    """src warped by M (src pixels to the target's) onto a target canvas of `shape`: (warped,
    valid mask eroded off the edges, coverage: the larger of the shares of either canvas that
    the other covers)."""
    th, tw = shape[:2]
    # pre-shrink the source to about the target's sampling, then warp the remaining transform
    g = min(1.0, map_scale(M))
    s_small = cv2.resize(src, (max(1, round(src.shape[1] * g)), max(1, round(src.shape[0] * g))),
                         interpolation=cv2.INTER_AREA) if g < 0.9 else src
    G = np.diag([s_small.shape[1] / src.shape[1], s_small.shape[0] / src.shape[0], 1.0])
    W = M @ np.linalg.inv(G)
    warped = cv2.warpPerspective(s_small, W, (tw, th), flags=cv2.INTER_LINEAR,
                                 borderMode=cv2.BORDER_CONSTANT)
    valid = cv2.warpPerspective(np.full(s_small.shape, 255, np.uint8), W, (tw, th),
                                flags=cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT)
    cov_t = float((valid > 0).mean())
    back = cv2.warpPerspective(np.full((th, tw), 255, np.uint8), np.linalg.inv(W),
                               (s_small.shape[1], s_small.shape[0]), flags=cv2.INTER_NEAREST)
    coverage = max(cov_t, float((back > 0).mean()))
    valid = cv2.erode(valid, np.ones((7, 7), np.uint8)) > 0
    return warped, valid, coverage


@dataclass(frozen=True)
class _Comparison:
    """What _compare measures on two aligned images (see its docstring)."""

    agree: float
    tiles: int
    coverage: float
    texture_loss: float
    tone_outliers: float
    moved_detail: float
    tone_shift: float = 0.0
    # share of the disagreeing tiles where one image is flat black or white (clipped)
    clipped: float = 0.0
    # share of the textured tiles set aside as content laid over one image (see _added_side)
    overlay: float = 0.0


def _aligned_agreement(aligned: _Aligned, p: VerifyParams, coarse: bool = False) -> _Comparison:
    """Compare two aligned images (coarse: both blurred to the detail a heavily compressed
    image still carries)."""
    tgt, warped, valid, coverage, _ = aligned
    if coarse:
        tgt = cv2.GaussianBlur(tgt.astype(np.float32), (0, 0), COARSE_SIGMA)
        warped = cv2.GaussianBlur(warped.astype(np.float32), (0, 0), COARSE_SIGMA)
    return _compare(tgt, warped, valid, coverage, p)


def _compare(tgt: np.ndarray, warped: np.ndarray, valid: np.ndarray, coverage: float,
             p: VerifyParams) -> _Comparison:
    """Measures, over the overlap:
    agree — share of textured 16 px tiles whose gradient fields agree (cosine >= tile_agree_cos);
    tiles — how many textured tiles were compared;
    coverage — share of the smaller image covered by the other;
    moved_detail — share of textured tiles that disagree although both images have detail of
    like strength there (gradient energies within 2x): an edit keeps detail in place or removes
    it on one side, a moving subject or another viewpoint moves it;
    texture_loss — detail lost in *both* directions within one tone zone (black or white, or
    the mid-tones): min over the two images of the share of tiles where the other has 4x its
    gradient energy. An edit derives one image from the other, so detail goes missing one way
    only; two captures (exposure brackets, moving subjects, another viewpoint) each have
    detail the other lacks;
    tone_outliers — share of pixels more than 12 grey levels off the tone curve of their region
    (binned conditional mean, tone_regions x tone_regions cells), the worse of the two
    directions, both smoothed to TONE_SIGMA (sharpening halos average out there);
    tone_shift — median grey-level difference over the overlap: how far a brightness or contrast
    edit moved the tones (robust to a caption or a blur, which move few pixels).
    """
    tiles = _tiler(tgt.shape)
    if tiles is None or not valid.any():
        return _Comparison(0.0, 0, coverage, 1.0, 1.0, 0.0)
    vfrac = tiles(valid.astype(np.float32))
    t32, w32 = tgt.astype(np.float32), warped.astype(np.float32)
    # sigma 1.0 smoothing, and 1.5 by cascading (Gaussians compose: 1.0² + 1.118² = 1.5²)
    t1, w1 = cv2.GaussianBlur(t32, (0, 0), 1.0), cv2.GaussianBlur(w32, (0, 0), 1.0)
    t15, w15 = cv2.GaussianBlur(t1, (0, 0), 1.118), cv2.GaussianBlur(w1, (0, 0), 1.118)

    # agreement of the gradient fields (blind to brightness/contrast/tone edits)
    d = _tile_diff(t15, w15, vfrac, tiles, p)
    use, differ = d.use, d.differ
    n = int(use.sum())
    # whether clipping is where they disagree: two exposures (the darker frame is the richer
    # one wherever the brighter is blown out), not detail laid over one of them
    clipped = _exposure_clipping(d)
    # content laid over the photo (a watermark, a caption, stickers) adds detail to one image
    # only: where the two disagree, that one is the richer nearly everywhere. Its tiles are set
    # aside and the rest must agree; "moved" detail is then detail of the photo that the
    # overlaid image lacks, since detail it gained is the overlay (see _added_side)
    adder = d.overlay_side(p.min_added_side) if clipped <= p.max_clipped_share else None
    if adder is not None:
        added = differ & adder & ~d.like
        rest = use & ~added
        agree = float((d.cos[rest] >= p.tile_agree_cos).mean()) if rest.any() else 0.0
        overlay = float(added.sum() / n)
    else:
        agree = float((d.cos[use] >= p.tile_agree_cos).mean()) if n else 0.0
        overlay = 0.0
    moved = float(d.moved(adder).sum() / n) if n else 0.0
    if n < p.min_tiles or agree < p.min_agree_fraction:
        # already not a copy: skip the photometric checks
        return _Comparison(agree, n, coverage, 0.0, 0.0, moved, clipped=clipped, overlay=overlay)

    # detail lost in both directions
    ea, eb = _energy(t1, tiles), _energy(w1, tiles)
    u = (vfrac > 0.95) & (np.maximum(ea, eb) > 64.0)
    if u.any():
        ratio = np.log((ea[u] + 16.0) / (eb[u] + 16.0))
        # a flat mid-tone patch where the other image has detail was painted over the photo
        # (a sticker, a caption box); a flat patch at black or white is clipping, which is what
        # two exposures differ by: only that counts as detail lost
        mean_a, mean_b = tiles(t1), tiles(w1)
        lost_b = (ratio > np.log(4)) & ~_painted(eb, mean_b)[u]
        lost_a = (ratio < -np.log(4)) & ~_painted(ea, mean_a)[u]
        # both ways within one tone zone: at black or white (highlights clipped in one exposure,
        # shadows in the other) or in the mid-tones (focus, a subject's edges). A tone edit
        # with sharpening ("auto enhance") clips the extremes of the edited copy and strengthens
        # its mid-tones: the original "lacks" mid-tone detail and the copy extreme detail, each
        # way in its own zone, which is one edit, not two captures
        ext_a, ext_b = _at_black_or_white(mean_a)[u], _at_black_or_white(mean_b)[u]
        texture_loss = max(float(min((lost_b & ext_b).mean(), (lost_a & ext_a).mean())),
                           float(min((lost_b & ~ext_b).mean(), (lost_a & ~ext_a).mean())))
    else:
        texture_loss = 0.0

    # a tone curve per region explains the tones of an edit, global (brightness, contrast) or
    # local (a vignette, local contrast, an "auto enhance"); every 2nd pixel is plenty: the
    # statistic is a share of pixels and neighbours are correlated after the blur
    sub = valid[::2, ::2]
    t2, w2 = _toned(t1)[::2, ::2], _toned(w1)[::2, ::2]
    tone = max(_regional_tone_outliers(t2, w2, sub, p.tone_regions),
               _regional_tone_outliers(w2, t2, sub, p.tone_regions))
    ta, tb = t1[::2, ::2][sub], w1[::2, ::2][sub]
    shift = float(np.median(np.abs(ta - tb))) if ta.size else 0.0
    return _Comparison(agree, n, coverage, texture_loss, tone, moved, shift, clipped, overlay)


def _toned(x: np.ndarray) -> np.ndarray:
    """x (smoothed at sigma 1) smoothed on to TONE_SIGMA, for comparing tones."""
    return cv2.GaussianBlur(x, (0, 0), float(np.sqrt(TONE_SIGMA ** 2 - 1.0)))


def _gradients(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return cv2.Sobel(x, cv2.CV_32F, 1, 0), cv2.Sobel(x, cv2.CV_32F, 0, 1)


def _gradient_tiles(ga: tuple[np.ndarray, np.ndarray], gb: tuple[np.ndarray, np.ndarray],
                    tiles: Callable[[np.ndarray], np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per tile, from two images' gradients (_gradients): each one's gradient energy and the
    cosine between them."""
    (ax, ay), (bx, by) = ga, gb
    ea, eb = tiles(ax * ax + ay * ay), tiles(bx * bx + by * by)
    return ea, eb, tiles(ax * bx + ay * by) / np.sqrt(ea * eb + 1e-6)


def _energy(x: np.ndarray, tiles: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """Gradient energy per tile."""
    gx, gy = _gradients(x)
    return tiles(gx * gx + gy * gy)


def _tiler(shape: tuple[int, ...]) -> Callable[[np.ndarray], np.ndarray] | None:
    """Per-tile means (TILE px squares) of images of `shape`: area resize = exact block mean.
    None when no whole tile fits."""
    ny, nx = shape[0] // TILE, shape[1] // TILE
    if ny == 0 or nx == 0:
        return None

    def tiles(x: np.ndarray) -> np.ndarray:
        return cv2.resize(np.ascontiguousarray(x[: ny * TILE, : nx * TILE]), (nx, ny),
                          interpolation=cv2.INTER_AREA)

    return tiles


@dataclass(frozen=True)
class _TileDiff:
    """Two aligned images compared tile by tile through their gradient fields (_tile_diff)."""

    use: np.ndarray  # textured tiles to compare
    cos: np.ndarray  # cosine of the two gradient fields
    ea: np.ndarray  # gradient energy of each
    eb: np.ndarray
    differ: np.ndarray  # compared tiles whose gradients disagree
    like: np.ndarray  # detail of like strength (energies within 2x)
    mean_a: np.ndarray  # mean grey level of each
    mean_b: np.ndarray

    def overlay_side(self, min_share: float) -> np.ndarray | None:
        """The tiles of the image content was laid over, when one was (see _added_side)."""
        return _added_side(self.differ, self.ea, self.eb, min_share,
                           _painted(self.ea, self.mean_a), _painted(self.eb, self.mean_b))

    def moved(self, overlay: np.ndarray | None) -> np.ndarray:
        """Disagreeing tiles with detail of like strength, but for content laid over one image:
        what a moving subject or parallax leaves."""
        return self.differ & self.like if overlay is None else self.differ & self.like & ~overlay


def _tile_diff(a: np.ndarray, b: np.ndarray, vfrac: np.ndarray,
               tiles: Callable[[np.ndarray], np.ndarray], p: VerifyParams) -> _TileDiff:
    """Compare two aligned, smoothed images tile by tile (vfrac: each tile's valid share).

    Detail counts only above the grain the two images do not share (noise an edit added): the
    median energy of their gradient difference where one of them is flat, near 0 for clean
    copies, and for two exposures too (a contrast change moves no flat tile); at most its
    median over all tiles, since grain is everywhere."""
    (ax, ay), (bx, by) = _gradients(a), _gradients(b)
    ea, eb, cos = _gradient_tiles((ax, ay), (bx, by), tiles)
    whole = vfrac > 0.95
    flat = whole & (np.minimum(ea, eb) < 64.0)
    diff = tiles((ax - bx) ** 2 + (ay - by) ** 2)
    grain = float(np.median(diff[flat])) if flat.sum() >= 16 else 0.0
    if whole.any():
        # grain an edit added is everywhere, textured tiles too; paint laid over texture (a
        # sticker) is flat in one image only, and where it makes most of the flat tiles of a
        # textured photo their median is the photo's texture, which must not become the floor
        grain = min(grain, float(np.median(diff[whole])))
    use = whole & (np.maximum(ea, eb) > max(64.0, GRAIN_FACTOR * grain))
    like = np.abs(np.log((ea + 16.0) / (eb + 16.0))) < np.log(2.0)
    return _TileDiff(use, cos, ea, eb, use & (cos < p.tile_agree_cos), like, tiles(a), tiles(b))


def _added_side(differ: np.ndarray, ea: np.ndarray, eb: np.ndarray, min_share: float,
                painted_a: np.ndarray | None = None, painted_b: np.ndarray | None = None
                ) -> np.ndarray | None:
    """Tiles where the image that gained detail is the richer one (or is paint), when one
    image did.

    An overlay (a watermark, a caption, stickers) is detail laid over one image: where the two
    disagree, that image has the more detail in at least min_share of the tiles (a tiled
    watermark in bench/unseen_edits.py: 0.93-1.00). Two captures differ both ways (a subject
    leaves one place and fills another; parallax moves detail): most nd-scenes pairs split
    0.5-0.7; the few above 0.9 are exposures, which clipping or lost detail tells apart, or
    still disagree once the richer side's tiles are set aside. Opaque paint (a sticker's fill)
    leaves that image flat where the photo had detail, and richer only along the outline: so
    failing the first rule, the overlaid side is the one that is flat paint (painted_*, flat
    mid-tone tiles) or richer where the other is not flat paint itself. A subject that moved
    over a flat backdrop leaves such flat tiles in both images (where it was in each), so
    neither side is paint there. None when neither image gained detail so (or nothing
    disagrees).
    """
    n = int(differ.sum())
    if n == 0:
        return None
    richer_b = eb > ea
    share_b = float((differ & richer_b).sum() / n)
    if share_b >= min_share:
        return richer_b
    if 1.0 - share_b >= min_share:
        return ~richer_b
    if painted_a is None or painted_b is None:
        return None
    for side in ((richer_b & ~painted_a) | painted_b, (~richer_b & ~painted_b) | painted_a):
        if float((differ & side).sum() / n) >= min_share:
            return side
    return None


def _photo_shares(ga: np.ndarray, gb: np.ndarray, H: np.ndarray
                  ) -> tuple[float, float, float, float]:
    """(photo share of a, of b, share of a covered by b, of b covered by a); see _photo_share."""
    (ha, wa), (hb, wb) = ga.shape, gb.shape
    in_a = cv2.warpPerspective(np.full((hb, wb), 255, np.uint8), np.linalg.inv(H), (wa, ha),
                               flags=cv2.INTER_NEAREST) > 0
    in_b = cv2.warpPerspective(np.full((ha, wa), 255, np.uint8), H, (wb, hb),
                               flags=cv2.INTER_NEAREST) > 0
    return (_photo_share(ga, in_a), _photo_share(gb, in_b), float(in_a.mean()),
            float(in_b.mean()))


def _photo_share(gray: np.ndarray, covered: np.ndarray) -> float:
    """1.0, or the covered share when what lies outside the other image's footprint is a frame.

    Geometry alone cannot tell a bordered copy from the original of a crop: either way one image
    holds the other plus a margin. A frame (a border, a screen or window around the photo, the
    filled corners of a rotation) is flat, and it steps in brightness at the photo's edge; the
    rest of a photo has texture, and carries on smoothly across the crop line. Unsure is "photo",
    so keep-best never prefers a crop over its original.
    """
    extra = ~covered
    if extra.mean() < 0.02:
        return 1.0
    k = np.ones((5, 5), np.uint8)
    inside = cv2.erode(covered.astype(np.uint8), k) > 0
    outside = cv2.erode(extra.astype(np.uint8), k) > 0
    if outside.sum() < 50 or inside.sum() < 50:
        return 1.0
    g = gray.astype(np.float32)

    def local_means(mask: np.ndarray, side: int, *values: np.ndarray) -> tuple[np.ndarray, ...]:
        """Means of `values` over the mask's pixels near each pixel, then their share of the
        window: over the mask alone, so a frame a few working pixels wide is not averaged with
        the photo beside it (a 30 px border on a 12 MP photo is 5 px at the working side)."""
        m = mask.astype(np.float32)
        weight = cv2.blur(m, (side, side))
        share = np.maximum(weight, 1e-6)
        return (*(cv2.blur(v * m, (side, side)) / share for v in values), weight)

    mean, sq, _ = local_means(outside, 9, g, g * g)
    std = np.sqrt(np.maximum(sq - mean * mean, 0.0))
    if (std[outside] < 3.0).mean() < 0.8:  # the margin has texture: more of the photo
        return 1.0
    mean_in, w_in = local_means(inside, 15, g)
    mean_out, w_out = local_means(outside, 15, g)
    # pixels with both sides of the photo's edge nearby (a thin frame fills little of a window)
    edge = (w_in > 0.2) & (w_out > 0.05)
    if not edge.any() or np.median(np.abs(mean_in[edge] - mean_out[edge])) < 8.0:
        return 1.0  # flat, but the photo carries on into it (a clear sky beyond a crop)
    return float(covered.mean())


#: a tile whose mean grey level is at most _BLACK or at least _WHITE is at black or white
_BLACK, _WHITE = 24.0, 232.0


def _at_black_or_white(mean: np.ndarray) -> np.ndarray:
    return (mean <= _BLACK) | (mean >= _WHITE)


def _exposure_clipping(d: "_TileDiff") -> float:
    """Share of the disagreeing tiles that one of the two images clipped, as two exposures
    differ: the brighter frame clips white where the darker has detail, the darker clips black.
    One image clipped alone at both black and white is a contrast stretch of the other, which
    no exposure is (an "auto enhance"), so its clipping does not count."""
    ca, cb = d.differ & _clipped(d.ea, d.mean_a), d.differ & _clipped(d.eb, d.mean_b)
    n = max(int(d.differ.sum()), 1)
    for mine, mean, other in ((ca, d.mean_a, cb), (cb, d.mean_b, ca)):
        k = int(mine.sum())
        black, white = int((mine & (mean <= _BLACK)).sum()), int((mine & (mean >= _WHITE)).sum())
        if k and min(black, white) >= STRETCH_END * k and int(other.sum()) <= STRETCH_END * k:
            return float(other.sum() / n)
    return float((ca | cb).sum() / n)


def _clipped(energy: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """Tiles that are flat (no detail at all) at black or white: what an exposure clips."""
    return (energy < 16.0) & _at_black_or_white(mean)


def _painted(energy: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """Tiles that are flat at a tone between deep shadow and highlight: paint, not clipping."""
    return (energy < 16.0) & ~_at_black_or_white(mean)


def _regional_tone_outliers(x: np.ndarray, y: np.ndarray, mask: np.ndarray, n: int) -> float:
    """Share of the masked pixels off the tone curve of their cell of an n x n grid."""
    count = int(mask.sum())
    return float(_off_regional_curve(x, y, mask, n).sum() / count) if count else 1.0


def _off_regional_curve(x: np.ndarray, y: np.ndarray, mask: np.ndarray, n: int) -> np.ndarray:
    """Pixels (of mask) whose y is off the tone curve of their cell of an n x n grid (see
    _off_curve); False outside the mask."""
    h, w = x.shape
    off = np.zeros(x.shape, bool)
    for i in range(n):
        for j in range(n):
            cell = (slice(i * h // n, (i + 1) * h // n), slice(j * w // n, (j + 1) * w // n))
            m = mask[cell]
            if m.any():
                part = off[cell]
                part[m] = _off_curve(x[cell][m], y[cell][m])
    return off


def _off_curve(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Whether each y is more than 12 levels off the mean y of its x bin (32 bins)."""
    bins = np.clip(x * 0.125, 0, 31).astype(np.intp)
    cnt = np.bincount(bins, minlength=32)
    mean = np.bincount(bins, y, 32) / np.maximum(cnt, 1)
    return np.abs(y - mean[bins]) > 12.0


def _score(n_in: int, ratio: float, agree: float | None, p: VerifyParams) -> float:
    """A 0..1 confidence: geometric support times photometric agreement."""
    geo = min(1.0, n_in / (2.0 * p.min_inliers)) * min(1.0, ratio / (2 * p.min_inlier_ratio))
    return float(geo if agree is None else geo * agree)


__all__ = ["FEATURE_VERSION", "IN_PLACE", "OVERLAY_GAP", "VERIFIER_VERSION", "Evidence", "LocalFeatures",
           "PairVerifier", "Verdict", "VerifyParams", "map_scale", "pixel_map"]
