"""Keep-best rules: which member of a duplicate group to keep, and a human-readable reason why."""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Callable, Collection, Sequence

from mgdesk.core.sizes import human_size

log = logging.getLogger(__name__)

RAW_FORMATS = frozenset({"DNG", "CR2", "CR3", "NEF", "NRW", "ARW", "SRF", "SR2", "RAF", "ORF",
                         "RW2", "PEF", "SRW", "X3F", "3FR", "IIQ", "ERF", "KDC", "MRW", "RAW"})
_FORMAT_RANK = {"HEIC": 1, "HEIF": 1, "AVIF": 1, "TIFF": 2, "TIF": 2, "PNG": 3, "WEBP": 4,
                "JPEG": 5, "JPG": 5, "MPO": 5}
_FORMAT_NAME = {"JPG": "JPEG", "TIF": "TIFF", "HEIF": "HEIC"}

#: A member whose canvas shows less of the photo than this is framed (see MemberInfo.photo_share).
FRAMED_BELOW = 0.98
#: Frames are measured, not exact: a framed copy within this factor of the best photo resolution
#: counts as no better, so a border around the same pixels never wins "largest resolution".
FRAME_TOLERANCE = 0.97

#: Rule names, in the default order. The capture date comes before the edits and the file
#: size: of one photo at one size, a file that kept the camera's capture date is the camera's
#: or kept what it wrote, and no editor invents one; an app's export or a messenger's copy
#: without it is often the bigger file, and among many edits may measure as the least edited
RULES = ("resolution", "oldest", "unedited", "file_size", "format", "folder", "exif")
#: "unedited": members within this share of overlap of the least edited one tie
EDIT_TOLERANCE = 0.02
#: "unedited": tones within this many grey levels tie (re-encoding alone moves them about one)
TONE_TOLERANCE = 2.0
#: burst frames whose focus measure is within this factor of the sharpest tie (two sharp frames
#: differ by their content's small changes, a blurred one falls far below)
SHARPNESS_TOLERANCE = 1.15


@dataclass(frozen=True)
class Edits:
    """How a member differs from its verified copies in the group, on average over them.

    Copies are edited one at a time from an original: the original differs from each copy by
    one edit, a copy from the others by its own edit as well. So the member that differs least
    is the likeliest original, on each of these counts:
    """

    content: float  # share of the overlap that disagrees (a caption, a blur)
    turned: float = 0.0  # share of its copies it is rotated or mirrored against
    tone: float = 0.0  # typical grey-level difference (a brightness or contrast edit)


@dataclass(frozen=True)
class MemberInfo:
    """What the rules look at for one photo of a group."""

    path: str
    width: int
    height: int
    size_bytes: int
    format: str | None = None  # e.g. "JPEG", "PNG", "HEIC", "DNG"
    captured: str | None = None  # ISO 8601 capture date, if known
    exif_fields: int = 0
    # share of the canvas that shows the photo: < 1 when a verified copy shows that the rest is a
    # frame (a border, a screenshot's window), which is not detail worth keeping
    photo_share: float = 1.0
    # how it differs from its verified copies (None: not measured, e.g. at the exact level)
    edits: Edits | None = None
    # the lossy member whose pixels this file holds, saved again losslessly (mgdesk.core.resave):
    # it holds nothing that member lacks, however much bigger its file
    resave_of: str | None = None
    # the smaller member this file only enlarges (mgdesk.core.enlarged): more pixels, no more
    # detail; it must not win "largest resolution" over the photo it was made from
    enlarged_from: str | None = None
    # the colour member this grey file was made from (mgdesk.core.colour)
    grey_of: str | None = None
    modified: float | None = None  # the file's modification time (seconds since the epoch)
    # focus measure (mgdesk.core.sharpness), set only for the frames of one burst: the
    # sharpest frame is the best one, before any rule
    sharpness: float | None = None
    # where this name links to, when it is a symbolic link: keeping the link and removing a real
    # copy would leave the photo only where the link points (which may be anywhere, or gone)
    link_to: str | None = None

    @property
    def derived(self) -> str | None:
        """Why this file holds nothing another member lacks (None: it may hold more)."""
        if self.resave_of is not None:
            return f"{PurePath(self.path).name} only re-saves its pixels losslessly"
        if self.enlarged_from is not None:
            return (f"{PurePath(self.path).name} only enlarges "
                    f"{PurePath(self.enlarged_from).name} (no detail finer than its pixels)")
        if self.grey_of is not None:
            return f"{PurePath(self.path).name} is a grey copy of {PurePath(self.grey_of).name}"
        if self.link_to is not None:
            return f"{PurePath(self.path).name} is only a link to {self.link_to}"
        return None

    @property
    def framed(self) -> bool:
        return self.photo_share < FRAMED_BELOW

    @property
    def photo_pixels(self) -> float:
        return self.width * self.height * min(1.0, self.photo_share)


@dataclass(frozen=True)
class KeepRules:
    """Ordered rules; the first rule that separates the members decides.

    ``order`` lists rule names from ``RULES``; rules not listed are not used. ``preferred_folders``
    ranks folders (earlier = more preferred) for the ``folder`` rule.
    """

    order: tuple[str, ...] = RULES
    preferred_folders: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        unknown = [r for r in self.order if r not in RULES]
        if unknown:
            raise ValueError(f"unknown keep-best rule(s) {unknown}; known: {', '.join(RULES)}")


def format_rank(fmt: str | None, path: str = "") -> int:
    """Lower is better: RAW < HEIC < TIFF < PNG < WebP < JPEG < anything else."""
    name = (fmt or PurePath(path).suffix.lstrip(".")).upper()
    if name in RAW_FORMATS:
        return 0
    return _FORMAT_RANK.get(name, 6)


def _format_name(m: MemberInfo) -> str:
    name = (m.format or PurePath(m.path).suffix.lstrip(".") or "unknown").upper()
    return _FORMAT_NAME.get(name, name)


def _folder_rank(path: str, folders: Sequence[str]) -> int:
    p = PurePath(path)
    for i, folder in enumerate(folders):
        try:
            p.relative_to(PurePath(folder))
            return i
        except ValueError:
            continue
    return len(folders)


#: A rule looks at the members still in the running and returns those it prefers (all of them
#: when it cannot tell them apart) and the reason text for the first of them.
Rule = Callable[[Sequence[MemberInfo], list[int]], tuple[list[int], str]]


def _by_key(key: Callable[[MemberInfo], object], why: Callable[[MemberInfo], str]) -> Rule:
    """A rule from a key where smaller is better; a None key (unknown) never wins."""
    def rule(members: Sequence[MemberInfo], alive: list[int]) -> tuple[list[int], str]:
        keys = {i: key(members[i]) for i in alive}
        known = [i for i in alive if keys[i] is not None]
        if not known:
            return alive, ""
        best = min(keys[i] for i in known)  # type: ignore[type-var]
        winners = [i for i in known if keys[i] == best]
        return winners, why(members[winners[0]])
    return rule


def _rule(name: str, rules: KeepRules) -> Rule:
    if name == "resolution":
        return _most_photo
    if name == "unedited":
        return _least_edited
    if name == "file_size":
        return _by_key(lambda m: -m.size_bytes, lambda m: f"largest file: {human_size(m.size_bytes)}")
    if name == "format":
        return _by_key(lambda m: format_rank(m.format, m.path),
                       lambda m: f"preferred format: {_format_name(m)}")
    if name == "oldest":
        return _oldest
    if name == "folder":
        folders = rules.preferred_folders

        def rank(m: MemberInfo) -> int | None:  # None: in no preferred folder
            r = _folder_rank(m.path, folders)
            return r if r < len(folders) else None
        return _by_key(rank, lambda m: f"in preferred folder: {folders[_folder_rank(m.path, folders)]}")
    if name == "exif":
        return _by_key(lambda m: -m.exif_fields, lambda m: f"richer EXIF: {m.exif_fields} fields")
    raise ValueError(name)  # pragma: no cover - KeepRules validates


def _oldest(members: Sequence[MemberInfo], alive: list[int]) -> tuple[list[int], str]:
    """The members captured first; the reason says so, or that only they have a capture date."""
    winners, _ = _by_key(lambda m: m.captured or None, lambda m: "")(members, alive)
    if len(winners) == len(alive):
        return alive, ""
    only = all(not members[i].captured for i in alive if i not in winners)
    date = (members[winners[0]].captured or "")[:19].replace("T", " ")
    return winners, f"{'the only one with a capture date' if only else 'oldest capture date'}: {date}"


def _most_photo(members: Sequence[MemberInfo], alive: list[int]) -> tuple[list[int], str]:
    """The members with the largest resolution of the photo itself, and the reason text.

    A framed copy (a border or screen around the photo) does not count its frame; one that
    measures within FRAME_TOLERANCE of the best unframed member loses to it."""
    best = max(members[i].photo_pixels for i in alive)
    if best <= 0:  # sizes unknown: this rule cannot tell them apart
        return alive, ""
    near = [i for i in alive if members[i].photo_pixels >= FRAME_TOLERANCE * best]
    unframed = [i for i in near if not members[i].framed]
    if unframed:  # exact sizes: the larger one wins outright
        top = max(members[i].photo_pixels for i in unframed)
        winners = [i for i in unframed if members[i].photo_pixels == top]
    else:  # measured sizes: as near as they are, they are the same photo resolution
        winners = near
    m = members[winners[0]]
    text = f"largest resolution: {m.width}×{m.height}"
    if any(members[i].framed and members[i].width * members[i].height > m.width * m.height
           for i in alive):
        text += " (a larger copy only adds a frame around the photo)"
    return winners, text


def _least_edited(members: Sequence[MemberInfo], alive: list[int]) -> tuple[list[int], str]:
    """The members least set apart from their copies: first by content (a caption, a blur),
    then by orientation (turned or mirrored), then by tones (brightness, contrast)."""
    known = [i for i in alive if members[i].edits is not None]
    if len(known) < 2:
        return alive, ""
    measures = (
        (lambda e: e.content, EDIT_TOLERANCE,
         lambda e: f"agrees with its copies in {1 - e.content:.0%} of the photo"),
        (lambda e: e.turned, 1e-9, lambda e: "not turned or mirrored against its copies"),
        (lambda e: e.tone, TONE_TOLERANCE, lambda e: "its brightness and contrast match its copies"),
    )
    winners, texts = known, []
    for measure, tolerance, why in measures:
        least = min(measure(members[i].edits) for i in winners)  # type: ignore[arg-type]
        near = [i for i in winners if measure(members[i].edits) <= least + tolerance]  # type: ignore[arg-type]
        if len(near) < len(winners):
            best = min(near, key=lambda i: measure(members[i].edits))  # type: ignore[arg-type]
            winners = near
            texts.append(why(members[best].edits))
    if not texts:  # the measured members are alike; the unmeasured ones are not ruled out
        return alive, ""
    return winners, "least edited: " + ", and ".join(texts)


def choose_keeper(members: Sequence[MemberInfo], rules: KeepRules | None = None) -> tuple[int, str]:
    """Index of the member to keep and why. Ties on every rule go to _tie_break."""
    if not members:
        raise ValueError("a group needs at least one member")
    rules = rules or KeepRules()
    alive = list(range(len(members)))
    steps: list[str] = []  # rules that narrowed the field before the deciding one
    if len(members) == 1:
        return 0, "only photo in the group"
    # a lossless re-save, an enlargement, a grey copy or a link holds nothing its source lacks,
    # whatever its size or format: before any rule, so no order of the rules keeps it. The
    # reason leads with what decided among the rest; what was set aside follows (each such
    # member also says what it is, in its own line)
    aside = ", and ".join(members[i].derived or "" for i in alive if members[i].derived)
    sources = [i for i in alive if members[i].derived is None]
    if sources and len(sources) < len(alive):
        alive = sources
        if len(alive) == 1:
            made = any(members[i].derived and members[i].link_to is None for i in range(len(members)))
            return alive[0], f"{'the photo the others were made from' if made else 'the file itself'} ({aside})"
    else:
        aside = ""

    def why(text: str) -> str:
        return "; then ".join(steps + [text]) + (f" (not weighed: {aside})" if aside else "")

    # frames of one burst show one view: the one the camera or the subject did not blur is the
    # shot worth keeping, whatever its file size
    if len(alive) > 1 and all(members[i].sharpness is not None for i in alive):
        best = max(members[i].sharpness for i in alive)  # type: ignore[type-var]
        sharp = [i for i in alive if members[i].sharpness * SHARPNESS_TOLERANCE >= best]  # type: ignore[operator]
        if len(sharp) < len(alive):
            text = "sharpest frame of the burst"
            if len(sharp) == 1:
                return sharp[0], why(text)
            steps.append(text)
            alive = sharp
    for name in rules.order:
        winners, text = _rule(name, rules)(members, alive)
        if len(winners) < len(alive):
            if len(winners) == 1:
                return winners[0], why(text)
            steps.append(text)
            alive = winners
    index, text = _tie_break(members, alive)
    return index, why(("equal on the other keep rules; " if steps else "equal on every keep rule; ") + text)


#: what file managers, browsers and sync tools add to a second copy's name: "IMG_1 (1)",
#: "IMG_1 copy 2", "IMG_1 - Copy (2)", "IMG_1 (copy)", "IMG_1 (3rd copy)", "IMG_1 2" (Finder),
#: "IMG_1 (conflicted copy 2024-01-02)", "Copy of IMG_1", "Kopie von IMG_1" (and a few languages)
_COPY_WORD = r"(?:copy|kopie|kopia|kopio|copia|copie|cópia)"
_COPY_SUFFIX = re.compile(
    rf"(?:\s?\(\d+\)|\s\d+|[\s_-]+{_COPY_WORD}(?:\s?\(?\d+\)?)?"
    rf"|\s\((?:{_COPY_WORD}|another copy|\d+(?:st|nd|rd|th) copy|[^()]*conflicted copy[^()]*)\))$",
    re.IGNORECASE)
_COPY_PREFIX = re.compile(rf"^(?:{_COPY_WORD}(?: \(\d+\))?(?: of|_of| von| de) |{_COPY_WORD}_of_)", re.IGNORECASE)


def is_copy_name(path: str, stems: Collection[str]) -> bool:
    """Whether a file is named as a second copy of another of ``stems`` (names without their
    extension): "IMG_1 (1).jpg" next to IMG_1, not "Vacation (2019).jpg" on its own."""
    stem = unicodedata.normalize("NFC", PurePath(path).stem)
    others = {unicodedata.normalize("NFC", s).casefold() for s in stems} - {stem.casefold()}
    bases = (_COPY_SUFFIX.sub("", stem), _COPY_PREFIX.sub("", stem))
    return any(base != stem and base.strip().casefold() in others for base in bases)


def _tie_break(members: Sequence[MemberInfo], alive: list[int]) -> tuple[int, str]:
    """Members no rule tells apart (exact copies, mostly): the one not named like a copy, then
    the file modified first (a copy is written after its original), then the first."""
    stems = [PurePath(members[i].path).stem for i in alive]
    plain = [i for i in alive if not is_copy_name(members[i].path, stems)]
    if plain and len(plain) < len(alive):
        if len(plain) == 1:
            marked = next(i for i in alive if i not in plain)
            return plain[0], f"kept the one not named as a copy ({PurePath(members[marked].path).name} is)"
        alive = plain
    dated = [i for i in alive if members[i].modified is not None]
    if dated:
        first = min(dated, key=lambda i: members[i].modified)  # type: ignore[arg-type,return-value]
        if all(members[i].modified != members[first].modified for i in dated if i != first):
            return first, "kept the file written first"
    return alive[0], "kept the first"


__all__ = ["RULES", "Edits", "KeepRules", "MemberInfo", "choose_keeper", "format_rank", "is_copy_name"]
