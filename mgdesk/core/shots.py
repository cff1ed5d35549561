"""Which capture a photo came from, by its camera metadata: the veto that pixels cannot give.

An edit (resize, crop, recolour, re-encode in any editor that keeps EXIF) keeps the original's
DateTimeOriginal, SubSecTimeOriginal and exposure settings; a burst frame or an exposure bracket
is another capture and differs in at least one of them, even when its pixels are a perfect
brightness-edit of its neighbour (a tripod bracket at 640 px is, to every pixel measure we tried).
Missing metadata (screenshots, messengers, our benchmark sets) proves nothing, so only fields that
both photos carry are compared.

A shot signature is one string per file, stored in the database:
``"<DateTimeOriginal ISO>[.<subsec>]|<exposure s>|<f-number>|<ISO>|<bias EV>"`` with empty
fields where a tag is missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from typing import Any, Sequence

# A clock or time-zone correction shifts the capture time by whole quarter hours, keeping the
# sub-seconds: such a copy is still the same capture.
_ZONE_STEP_S = 15 * 60


@dataclass(frozen=True)
class Shot:
    """The capture fields of one photo (None where the file does not say)."""

    taken: datetime | None = None
    subsec: str | None = None
    exposure_s: float | None = None
    f_number: float | None = None
    iso: int | None = None
    bias_ev: float | None = None

    def signature(self) -> str | None:
        """The stored form, or None when the file carries none of these fields."""
        fields = [self.taken.isoformat() + (f".{self.subsec}" if self.subsec else "") if self.taken else "",
                  _num(self.exposure_s), _num(self.f_number), str(self.iso) if self.iso else "",
                  _num(self.bias_ev)]
        return "|".join(fields) if any(fields) else None

    @classmethod
    def parse(cls, signature: str | None) -> "Shot":
        if not signature:
            return cls()
        parts = (signature.split("|") + [""] * 5)[:5]
        taken, subsec = None, None
        if parts[0]:
            stamp, _, sub = parts[0].partition(".")
            try:
                taken = datetime.fromisoformat(stamp)
            except ValueError:
                taken = None
            subsec = sub or None
        return cls(taken, subsec, _float(parts[1]), _float(parts[2]),
                   int(parts[3]) if parts[3].isdigit() else None, _float(parts[4]))


def different_captures(a: Shot | str | None, b: Shot | str | None) -> str | None:
    """Why two photos cannot be one capture (a one-line reason), or None if nothing says so.

    Takes signatures or parsed Shots (grouping parses each photo's once, not once per pair)."""
    if not a or not b or a == b:
        return None
    sa = a if isinstance(a, Shot) else Shot.parse(a)
    sb = b if isinstance(b, Shot) else Shot.parse(b)
    if sa.taken is not None and sb.taken is not None:
        delta = abs((sa.taken - sb.taken).total_seconds())
        # an editor may drop the sub-seconds: only differing ones count against a zone shift
        zone_shift = delta % _ZONE_STEP_S == 0 and (
            not sa.subsec or not sb.subsec or sa.subsec == sb.subsec)
        if delta and not zone_shift:
            return f"taken {delta:g} s apart (camera metadata)"
        if not delta and sa.subsec and sb.subsec and sa.subsec != sb.subsec:
            return f"taken in the same second as separate frames (sub-seconds {sa.subsec} vs {sb.subsec})"
    for name, x, y in (("exposure time", sa.exposure_s, sb.exposure_s),
                       ("aperture", sa.f_number, sb.f_number),
                       ("ISO", sa.iso, sb.iso),
                       ("exposure bias", sa.bias_ev, sb.bias_ev)):
        if x is not None and y is not None and abs(x - y) > 1e-6 * max(abs(x), abs(y), 1e-9):
            return f"different {name} ({_num(x)} vs {_num(y)}): another exposure"
    return None


#: the longest a burst lasts: frames held down for seconds, or a few quick tries at one shot
BURST_SPAN_S = 30.0


def one_burst(taken: Sequence[datetime | None], cameras: Sequence[str | None],
              sizes: Sequence[tuple[int, int]]) -> bool:
    """Whether photos are frames of one burst: one camera, one image size, all taken within
    BURST_SPAN_S. Such frames show one view, so the sharpest of them is the best one (an
    undated photo, or another camera's, may show another view)."""
    if len(taken) < 2 or any(t is None for t in taken) or any(not c for c in cameras):
        return False
    if len(set(cameras)) != 1 or len(set(sizes)) != 1 or not all(w and h for w, h in sizes):
        return False
    times = [t for t in taken if t is not None]
    try:
        return (max(times) - min(times)).total_seconds() <= BURST_SPAN_S
    except TypeError:  # naive and zone-aware times: not comparable, not one burst we can tell
        return False


def shot_from_exif(exif_ifd: dict[int, Any], taken: datetime | None) -> Shot:
    """The capture fields from the EXIF sub-IFD; ``taken`` is DateTimeOriginal, already parsed."""
    sub = exif_ifd.get(0x9291)  # SubSecTimeOriginal
    sub = sub.decode("ascii", "ignore") if isinstance(sub, bytes) else sub
    # a decimal fraction of a second: "5" and "50" are the same instant
    sub = "".join(ch for ch in sub if ch.isdigit()).rstrip("0") if isinstance(sub, str) else ""
    iso = exif_ifd.get(0x8827)
    if isinstance(iso, (tuple, list)):
        iso = iso[0] if iso else None
    try:
        iso = int(iso) if iso is not None and int(iso) > 0 else None
    except (TypeError, ValueError):
        iso = None
    return Shot(taken, sub or None, _rational(exif_ifd.get(0x829A)), _rational(exif_ifd.get(0x829D)),
                iso, _rational(exif_ifd.get(0x9204), allow_zero=True))


def _rational(value: Any, allow_zero: bool = False) -> float | None:
    try:
        if isinstance(value, tuple) and len(value) == 2:
            value = Fraction(int(value[0]), int(value[1]))
        x = float(value)
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        return None
    if x != x or abs(x) > 1e6 or (x == 0 and not allow_zero) or (x < 0 and not allow_zero):
        return None
    return round(x, 6)


def _float(text: str) -> float | None:
    try:
        return float(text) if text else None
    except ValueError:
        return None


def _num(x: float | None) -> str:
    return "" if x is None else f"{x:g}"


__all__ = ["BURST_SPAN_S", "Shot", "different_captures", "one_burst", "shot_from_exif"]
