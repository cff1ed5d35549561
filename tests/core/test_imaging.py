"""Decoding photos: orientation, reduced-size decode, colour modes, and one typed error for all failures."""

from __future__ import annotations

import io
import os
import pickle
import re
import struct
import subprocess
import sys
import threading
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, JpegImagePlugin

from mgdesk.core import imaging
from mgdesk.core.imaging import (
    MAX_PIXELS,
    SUPPORTED_SUFFIXES,
    ImageInfo,
    ImageLoadError,
    LoadedImage,
    LoadFailure,
    is_supported,
    load_image,
    read_info,
)

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
GREY = imaging.FLATTEN_BACKGROUND


def _sizes_decoded(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """Record the size of every image Pillow decodes (ImageFile.load) from now on."""
    from PIL import ImageFile

    sizes: list[tuple[int, int]] = []
    real_load = ImageFile.ImageFile.load

    def load(im: ImageFile.ImageFile):  # type: ignore[no-untyped-def]
        sizes.append(im.size)
        return real_load(im)

    monkeypatch.setattr(ImageFile.ImageFile, "load", load)
    return sizes


@pytest.fixture(scope="module")
def data() -> Path:
    """The shared corpus. CI has it, so a missing corpus fails instead of skipping these tests."""
    assert DATA.is_dir(), f"shared test data missing at {DATA}"
    return DATA


def small_grey(image: Image.Image, size: int = 32) -> np.ndarray:
    return np.asarray(image.convert("L").resize((size, size), Image.Resampling.BOX), dtype=float)


def noisy_jpeg(path: Path, size: tuple[int, int] = (800, 600), **save: object) -> Path:
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path, "JPEG", quality=90, **save)
    return path


def reason_of(path: Path | str, **kwargs: object) -> LoadFailure:
    with pytest.raises(ImageLoadError) as err:
        load_image(path, **kwargs)  # type: ignore[arg-type]
    return err.value.reason


# ---------------------------------------------------------------------------------------------
# EXIF orientation


@pytest.mark.parametrize("kind", ["Landscape", "Portrait"])
def test_all_eight_exif_orientations_come_out_upright(data: Path, kind: str) -> None:
    folder = data / "formats" / "orientation"
    reference = load_image(folder / f"{kind}_1.jpg", 256)
    for n in range(0, 9):  # 0: no/invalid tag, displayed as stored
        loaded = load_image(folder / f"{kind}_{n}.jpg", 256)
        assert loaded.image.size == reference.image.size, n
        assert loaded.image.mode == "RGB"
        diff = np.abs(small_grey(loaded.image) - small_grey(reference.image)).mean()
        assert diff < 3.0, f"{kind}_{n} differs from upright by {diff:.1f}"
        assert loaded.info.orientation == (n if n else None)
        assert (loaded.info.width, loaded.info.height) == (reference.info.width, reference.info.height)


def test_orientation_really_changes_pixels(data: Path) -> None:
    """Guards the test above: Landscape_6's stored pixels are rotated, so a no-op would fail it."""
    with Image.open(data / "formats" / "orientation" / "Landscape_6.jpg") as stored:
        assert stored.width < stored.height
    assert load_image(data / "formats" / "orientation" / "Landscape_6.jpg", 64).image.width == 64


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data:UserWarning")  # Pillow's note, then on we go
def test_broken_exif_does_not_fail_the_load(tmp_path: Path) -> None:
    path = noisy_jpeg(tmp_path / "broken_exif.jpg", exif=b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\xff\xff garbage")
    loaded = load_image(path, 128)
    assert loaded.image.size == (128, 96)
    assert loaded.info.orientation is None


def test_info_carries_capture_time_camera_and_exif_richness(data: Path) -> None:
    info = read_info(data / "formats" / "camera" / "jpg" / "Canon_40D.jpg")
    assert info == ImageInfo(
        width=100, height=68, format="JPEG", orientation=1,
        captured="2008-05-30T15:56:01", camera="Canon EOS 40D", exif_fields=info.exif_fields,
        shot=info.shot, jpeg_quality=info.jpeg_quality,
    )  # fmt: skip
    assert info.exif_fields > 20
    assert info.shot.startswith("2008-05-30T15:56:01")  # DateTimeOriginal, then exposure fields
    nikon = read_info(data / "formats" / "camera" / "jpg" / "Nikon_D70.jpg")
    assert nikon.camera == "NIKON D70"  # "NIKON CORPORATION" + "NIKON D70", de-duplicated
    assert read_info(data / "formats" / "orientation" / "Landscape_0.jpg").exif_fields < info.exif_fields


def test_a_jpeg_s_quality_is_read_from_its_quantisation_tables(tmp_path: Path) -> None:
    photo = Image.open(noisy_jpeg(tmp_path / "a.jpg")).convert("RGB")
    for quality in (20, 50, 90):
        photo.save(tmp_path / f"q{quality}.jpg", quality=quality)
        assert abs(read_info(tmp_path / f"q{quality}.jpg").jpeg_quality - quality) <= 2
    photo.save(tmp_path / "a.png")
    assert read_info(tmp_path / "a.png").jpeg_quality is None


def test_read_info_does_not_decode_pixels(tmp_path: Path) -> None:
    """Headers only: a JPEG cut in half still has readable info, though loading it fails."""
    data = noisy_jpeg(tmp_path / "a.jpg").read_bytes()
    half = tmp_path / "half.jpg"
    half.write_bytes(data[: len(data) // 2])
    assert read_info(half).width == 800
    assert reason_of(half) is LoadFailure.TRUNCATED


# ---------------------------------------------------------------------------------------------
# real camera files and HEIF


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and "README" not in p.name)


def test_camera_jpeg_tiff_heic_load_or_fail_typed(data: Path) -> None:
    folder = data / "formats" / "camera"
    loaded = failed = 0
    for path in _files(folder):
        try:
            result = load_image(path, 256)
        except ImageLoadError:
            failed += 1
            continue
        assert max(result.image.size) <= 256 and result.image.mode == "RGB"
        loaded += 1
    assert loaded >= 95 and failed <= 5
    main = [p for p in (folder / "jpg").glob("*.jpg")] + _files(folder / "tiff") + _files(folder / "heic")
    for path in main:  # the headline camera files must all load, not just fail politely
        assert isinstance(load_image(path, 128), LoadedImage), path


def test_heic_from_an_iphone_is_upright_with_metadata(data: Path) -> None:
    loaded = load_image(data / "formats" / "camera" / "heic" / "mobile" / "iphone_13_pro_max.HEIC", 400)
    info = loaded.info
    assert (info.format, info.width, info.height, info.orientation) == ("HEIF", 3024, 4032, 6)
    assert loaded.image.size == (300, 400)  # libheif rotates; we must not rotate a second time
    assert info.camera == "Apple iPhone 13 Pro Max" and info.captured == "2022-02-16T12:55:41+01:00"


def test_valid_pillow_heif_samples_load_at_their_size(data: Path) -> None:
    for path in _files(data / "formats" / "heic" / "pillow_heif-tests" / "heif"):
        loaded = load_image(path)
        match = re.search(r"__(\d+)x(\d+)", path.name)
        if match:
            assert loaded.image.size == (int(match[1]), int(match[2])), path.name
        assert loaded.image.mode == "RGB" and loaded.info.format == "HEIF"


def test_broken_heif_files_give_typed_errors(data: Path) -> None:
    folder = data / "formats" / "heic" / "pillow_heif-tests" / "heif_corrupted"
    assert reason_of(folder / "corrupted.heic") is LoadFailure.CORRUPT
    assert reason_of(folder / "corrupted.hif") is LoadFailure.CORRUPT
    assert reason_of(folder / "empty.heic") is LoadFailure.EMPTY
    for path in _files(data / "formats" / "heic" / "pillow_heif-tests"):
        try:
            load_image(path, 64)
        except ImageLoadError:
            pass


# its one thumbnail is 512 px: at 256 it is twice the size asked for, at 400 merely big enough
@pytest.mark.parametrize("side", [256, 400])
def test_200_megapixel_heic_loads_from_its_thumbnail_and_respects_the_cap(
        data: Path, monkeypatch: pytest.MonkeyPatch, side: int) -> None:
    path = data / "formats" / "heic" / "pillow_heif-tests" / "heif_special" / "200MP.heic"
    info = read_info(path)
    assert info.width * info.height > 190_000_000 and info.width * info.height <= MAX_PIXELS
    decoded = _sizes_decoded(monkeypatch)
    assert max(load_image(path, side).image.size) == side
    # the embedded thumbnail was decoded, not the 200 MP grid (seconds and gigabytes)
    assert decoded and max(decoded[0]) < 2048, decoded
    assert reason_of(path, max_side=256, max_pixels=100_000_000) is LoadFailure.TOO_LARGE


# ---------------------------------------------------------------------------------------------
# robustness corpus


@pytest.mark.filterwarnings("ignore::UserWarning:PIL.*")  # Pillow's notes on broken TIFF tags
def test_every_file_of_the_pillow_robustness_corpus_loads_or_fails_typed(data: Path) -> None:
    files = _files(data / "malformed" / "pillow-tests")
    assert len(files) > 700
    outcomes: dict[str, int] = {}
    for path in files:
        try:
            load_image(path, 256)
            outcome = "ok"
        except ImageLoadError as err:
            outcome = err.reason.value
            assert str(err).startswith(err.reason.label) and "\n" not in str(err)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    assert outcomes["ok"] > 600 and outcomes.get("truncated", 0) >= 3 and outcomes.get("too_large", 0) >= 2


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("truncated_jpeg.jpg", LoadFailure.TRUNCATED),
        ("truncated_image.png", LoadFailure.TRUNCATED),
        ("decompression_bomb.gif", LoadFailure.TOO_LARGE),
        ("png_decompression_dos.png", LoadFailure.TOO_LARGE),
        ("broken.png", LoadFailure.CORRUPT),
        ("hopper.psd", LoadFailure.UNSUPPORTED),
        ("timeout-1ee28a249896e05b83840ae8140622de8e648ba9.psd", LoadFailure.UNSUPPORTED),
    ],
)
def test_known_bad_corpus_files_give_the_right_reason(data: Path, name: str, reason: LoadFailure) -> None:
    assert reason_of(data / "malformed" / "pillow-tests" / name) is reason


def test_formats_outside_the_allow_list_are_refused_without_running_anything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PIL import EpsImagePlugin

    def no_ghostscript(*args: object, **kwargs: object) -> None:
        raise AssertionError("Ghostscript must never run")

    monkeypatch.setattr(EpsImagePlugin, "Ghostscript", no_ghostscript)
    eps = tmp_path / "photo.jpg"
    eps.write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 100 100\nshowpage\n")
    with pytest.raises(ImageLoadError) as err:
        load_image(eps)
    assert err.value.reason is LoadFailure.UNSUPPORTED and "EPS" in err.value.detail


# ---------------------------------------------------------------------------------------------
# generated bad inputs


def test_truncated_jpeg_is_reported_not_half_grey(tmp_path: Path) -> None:
    data = noisy_jpeg(tmp_path / "full.jpg").read_bytes()
    for fraction in (0.5, 0.98):
        cut = tmp_path / f"cut{fraction}.jpg"
        cut.write_bytes(data[: int(len(data) * fraction)])
        with pytest.raises(ImageLoadError) as err:
            load_image(cut, 256)
        assert err.value.reason is LoadFailure.TRUNCATED
        assert str(err.value).startswith(f"truncated image: {cut} (")
    assert not getattr(Image, "LOAD_TRUNCATED_IMAGES", False)  # no global switched on


def test_corrupt_bytes_after_a_jpeg_header(tmp_path: Path) -> None:
    path = tmp_path / "corrupt.jpg"
    path.write_bytes(b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8)
    assert reason_of(path) in (LoadFailure.CORRUPT, LoadFailure.TRUNCATED)


def test_zero_byte_file_is_empty(tmp_path: Path) -> None:
    (tmp_path / "empty.jpg").touch()
    with pytest.raises(ImageLoadError) as err:
        read_info(tmp_path / "empty.jpg")
    assert err.value.reason is LoadFailure.EMPTY


def test_text_file_named_jpg_says_so(tmp_path: Path) -> None:
    path = tmp_path / "notes.jpg"
    path.write_text("shopping list: milk, eggs\n")
    with pytest.raises(ImageLoadError) as err:
        load_image(path)
    assert err.value.reason is LoadFailure.CORRUPT
    assert str(err.value) == f"corrupt image: {path} (not a valid image: the file contains text)"


def _png_claiming(width: int, height: int) -> bytes:
    """A tiny valid-looking PNG whose IHDR claims a huge size (a classic decompression bomb)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1024, 9)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
@pytest.mark.parametrize("side", [60_000, 17_000])  # above Pillow's hard limit; between ours and it
def test_decompression_bomb_is_refused_before_decoding(
        tmp_path: Path, side: int, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "bomb.png"
    path.write_bytes(_png_claiming(side, side))
    decoded = _sizes_decoded(monkeypatch)
    with pytest.raises(ImageLoadError) as err:
        load_image(path, 256)
    assert err.value.reason is LoadFailure.TOO_LARGE
    assert decoded == []  # refused from the header: no pixel was decoded


def test_a_lower_pixel_cap_per_call(tmp_path: Path) -> None:
    path = noisy_jpeg(tmp_path / "a.jpg")
    assert reason_of(path, max_pixels=100_000) is LoadFailure.TOO_LARGE
    assert load_image(path, max_pixels=480_000).image.size == (800, 600)


def test_missing_file(tmp_path: Path) -> None:
    assert reason_of(tmp_path / "gone.jpg") is LoadFailure.MISSING
    assert reason_of(tmp_path / "no_dir" / "gone.jpg") is LoadFailure.MISSING


def test_directory_named_like_a_photo_is_unreadable(tmp_path: Path) -> None:
    (tmp_path / "album.jpg").mkdir()
    assert reason_of(tmp_path / "album.jpg") is LoadFailure.UNREADABLE


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_fifo_named_like_a_photo_does_not_hang(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)
    outcome: list[LoadFailure | None] = []
    reader = threading.Thread(target=lambda: outcome.append(reason_of(fifo)), daemon=True)
    reader.start()
    reader.join(60)  # a liveness guard, not a speed bound: opening a FIFO to read blocks forever
    assert not reader.is_alive(), "reading a FIFO blocked"
    assert outcome == [LoadFailure.UNREADABLE]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs POSIX permissions")
def test_file_without_read_permission_is_unreadable(tmp_path: Path) -> None:
    path = noisy_jpeg(tmp_path / "private.jpg")
    path.chmod(0)
    if os.geteuid() != 0:
        assert reason_of(path) is LoadFailure.UNREADABLE
        return
    # root reads anything: ask the kernel as an unprivileged user instead, in a forked child.
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        code = 1
        try:
            os.close(read_end)
            os.setgid(65534)
            os.setuid(65534)
            try:
                load_image(path)
                answer = b"loaded"
            except ImageLoadError as err:
                answer = err.reason.value.encode()
            os.write(write_end, answer)
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        answer = pipe.read().decode()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert answer == LoadFailure.UNREADABLE.value


# ---------------------------------------------------------------------------------------------
# reduced-size decode


def test_large_jpeg_is_decoded_at_reduced_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = noisy_jpeg(tmp_path / "big.jpg", size=(4000, 3000))
    decoded_sizes: list[tuple[int, int]] = []
    original_draft = JpegImagePlugin.JpegImageFile.draft

    def spy(self: JpegImagePlugin.JpegImageFile, mode: str | None, size: tuple[int, int] | None) -> object:
        result = original_draft(self, mode, size)
        decoded_sizes.append(self.size)
        return result

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft", spy)
    loaded = load_image(path, 256)
    assert loaded.image.size == (256, 192)
    assert (loaded.info.width, loaded.info.height) == (4000, 3000)  # info describes the file
    assert decoded_sizes and max(decoded_sizes[0]) <= 1000  # DCT-scaled by 4, not 4000 px


def test_images_smaller_than_max_side_are_not_enlarged(tmp_path: Path) -> None:
    path = noisy_jpeg(tmp_path / "small.jpg", size=(120, 80))
    assert load_image(path, 256).image.size == (120, 80)


def test_same_file_decodes_to_identical_pixels(data: Path) -> None:
    path = data / "formats" / "camera" / "jpg" / "hdr" / "canon_hdr_YES.jpg"
    first = load_image(path, 300).image
    second = load_image(path, 300).image
    assert first.size == second.size and first.tobytes() == second.tobytes()


# ---------------------------------------------------------------------------------------------
# colour modes


def _roundtrip(tmp_path: Path, image: Image.Image, name: str, **save: object) -> Image.Image:
    path = tmp_path / name
    image.save(path, **save)
    with Image.open(path) as check:
        assert check.mode == image.mode or name.endswith(".jpg"), check.mode  # tests what it claims
    return load_image(path).image


def test_palette_image(tmp_path: Path) -> None:
    image = Image.new("P", (4, 4), 0)
    image.putpalette([10, 200, 30] + [0, 0, 0] * 255)
    assert _roundtrip(tmp_path, image, "p.png").getpixel((0, 0)) == (10, 200, 30)


def test_palette_with_transparency_is_flattened_on_grey(tmp_path: Path) -> None:
    image = Image.new("P", (4, 4), 1)
    image.putpalette([255, 0, 0, 0, 0, 255] + [0, 0, 0] * 254)
    image.info["transparency"] = 1
    assert _roundtrip(tmp_path, image, "pt.png", transparency=1).getpixel((0, 0)) == GREY
    gif = Image.new("P", (4, 4), 1)
    gif.putpalette([255, 0, 0, 0, 0, 255] + [0, 0, 0] * 254)
    assert _roundtrip(tmp_path, gif, "t.gif", transparency=1).getpixel((0, 0)) == GREY


def test_pa_image(tmp_path: Path) -> None:
    image = Image.new("PA", (4, 4))
    image.putpalette([255, 255, 255] + [0, 0, 0] * 255)
    image.putdata([(0, 0)] * 8 + [(0, 255)] * 8)
    out = imaging._to_rgb(image, None)  # PNG stores PA as RGBA, so convert the mode directly
    assert out.getpixel((0, 0)) == GREY and out.getpixel((0, 3)) == (255, 255, 255)


def test_alpha_is_flattened_on_mid_grey_not_black(tmp_path: Path) -> None:
    rgba = Image.new("RGBA", (4, 2), (255, 0, 0, 0))
    rgba.putpixel((1, 0), (255, 255, 255, 255))
    rgba.putpixel((2, 0), (255, 255, 255, 128))
    out = _roundtrip(tmp_path, rgba, "rgba.png")
    assert out.getpixel((0, 0)) == GREY  # fully transparent red: grey, not red or black
    assert out.getpixel((1, 0)) == (255, 255, 255)
    assert all(abs(c - 191) <= 1 for c in out.getpixel((2, 0)))
    la = Image.new("LA", (2, 2), (0, 0))
    assert _roundtrip(tmp_path, la, "la.png").getpixel((0, 0)) == GREY


def test_cmyk_jpeg_and_tiff(tmp_path: Path) -> None:
    cyan = Image.new("CMYK", (8, 8), (255, 0, 0, 0))
    for name in ("cmyk.jpg", "cmyk.tif"):
        r, g, b = _roundtrip(tmp_path, cyan, name).getpixel((4, 4))
        assert r < 20 and g > 235 and b > 235, name


def test_sixteen_bit_gradient_stays_a_gradient(tmp_path: Path) -> None:
    ramp = np.tile(np.linspace(0, 65535, 256).astype(np.uint16), (4, 1))
    out = np.asarray(_roundtrip(tmp_path, Image.fromarray(ramp), "ramp16.png"))[0, :, 0]
    assert out[0] == 0 and out[-1] == 255 and abs(int(out[128]) - 128) <= 1
    assert np.all(np.diff(out.astype(int)) >= 0)  # Pillow's plain convert would clip to white
    tiff = _roundtrip(tmp_path, Image.fromarray(ramp), "ramp16.tif")
    assert np.asarray(tiff)[0, 128, 0] in range(120, 136)


def test_big_endian_16_bit_tiff_from_the_corpus(data: Path) -> None:
    out = load_image(data / "malformed" / "pillow-tests" / "16bit.MM.cropped.tif").image
    reference = load_image(data / "malformed" / "pillow-tests" / "16bit.cropped.tif").image
    assert out.tobytes() == reference.tobytes()
    with Image.open(data / "malformed" / "pillow-tests" / "16bit.cropped.tif") as raw:
        expected = np.rint(np.asarray(raw, dtype=float) / 257)  # values 291..694 of 65535: dark
    assert np.array_equal(np.asarray(out)[..., 0], expected)  # Pillow's convert("L") gives white


def test_float_and_32_bit_int_images(tmp_path: Path) -> None:
    ramp = np.tile(np.linspace(0, 1, 256, dtype=np.float32), (4, 1))
    out = np.asarray(_roundtrip(tmp_path, Image.fromarray(ramp, "F"), "f.tif"))[0, :, 0]
    assert out[0] == 0 and out[-1] == 255 and np.all(np.diff(out.astype(int)) >= 0)
    ints = Image.fromarray((ramp * 1_000_000).astype(np.int32), "I")
    out = np.asarray(_roundtrip(tmp_path, ints, "i.tif"))[0, :, 0]
    assert out[0] == 0 and out[-1] == 255 and abs(int(out[128]) - 128) <= 2


def test_grey_and_bilevel(tmp_path: Path) -> None:
    bilevel = Image.new("1", (8, 8), 0)
    bilevel.putpixel((0, 0), 1)
    out = _roundtrip(tmp_path, bilevel, "b.png")
    assert out.getpixel((0, 0)) == (255, 255, 255) and out.getpixel((1, 1)) == (0, 0, 0)
    assert _roundtrip(tmp_path, Image.new("L", (4, 4), 77), "l.png").getpixel((0, 0)) == (77, 77, 77)


def test_animated_gif_gives_its_first_frame(tmp_path: Path) -> None:
    frames = [Image.new("RGB", (8, 8), c) for c in ((255, 0, 0), (0, 0, 255))]
    frames[0].save(tmp_path / "a.gif", save_all=True, append_images=frames[1:])
    assert load_image(tmp_path / "a.gif").image.getpixel((0, 0)) == (255, 0, 0)


@pytest.mark.parametrize("fmt", ["WEBP", "BMP", "PNG", "TIFF"])
def test_common_formats(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"x.{fmt.lower()}"
    Image.new("RGB", (300, 200), (40, 90, 160)).save(path, fmt)
    loaded = load_image(path, 150)
    assert loaded.image.size == (150, 100) and loaded.info.format == fmt


# ---------------------------------------------------------------------------------------------
# the error and the suffix list


def test_error_is_one_line_picklable_and_names_the_reason(tmp_path: Path) -> None:
    err = ImageLoadError("/x/y.jpg", LoadFailure.TRUNCATED, "image file is\ntruncated")
    assert str(err) == "truncated image: /x/y.jpg (image file is truncated)"
    again = pickle.loads(pickle.dumps(err))
    assert (again.path, again.reason, str(again)) == (err.path, err.reason, str(err))
    assert LoadFailure("too_large") is LoadFailure.TOO_LARGE and LoadFailure.EMPTY == "empty"


def test_supported_suffixes() -> None:
    assert {".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff", ".heic", ".heif"} <= SUPPORTED_SUFFIXES
    assert all(s == s.lower() and s.startswith(".") for s in SUPPORTED_SUFFIXES)
    assert is_supported("/photos/IMG_1.JPG") and is_supported(Path("a.HEIC"))
    assert not is_supported("notes.txt") and not is_supported("drawing.eps") and not is_supported("x.psd")
    assert (".nef" in SUPPORTED_SUFFIXES) == imaging.raw_available()


def test_raw_without_rawpy_is_clearly_unsupported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "DSC_0001.NEF"
    path.write_bytes(b"II*\x00" + b"\x00" * 64)
    monkeypatch.setitem(sys.modules, "rawpy", None)  # import rawpy now raises ImportError
    with pytest.raises(ImageLoadError) as err:
        load_image(path)
    assert err.value.reason is LoadFailure.UNSUPPORTED and "rawpy" in str(err.value)


def test_garbage_raw_with_rawpy_is_a_typed_error(tmp_path: Path) -> None:
    pytest.importorskip("rawpy")
    path = tmp_path / "IMG_0001.CR2"
    path.write_bytes(b"II*\x00" + os.urandom(4096))
    assert reason_of(path) in (LoadFailure.UNSUPPORTED, LoadFailure.CORRUPT, LoadFailure.TRUNCATED)
    (tmp_path / "empty.dng").touch()
    assert reason_of(tmp_path / "empty.dng") is LoadFailure.EMPTY


def test_max_side_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        load_image(noisy_jpeg(tmp_path / "a.jpg"), 0)


# ---------------------------------------------------------------------------------------------
# RAW (optional rawpy)


def _linear_dng(width: int = 64, height: int = 48, orientation: int = 1) -> bytes:
    """A minimal uncompressed LinearRaw DNG (16-bit RGB ramp, no preview) that LibRaw decodes."""
    y, x = np.mgrid[0:height, 0:width]
    rgb = np.stack([x * 65535 // (width - 1), y * 65535 // (height - 1), np.full_like(x, 20000)], -1)
    pixels = rgb.astype("<u2").tobytes()
    fields = [  # (tag, TIFF type, struct format, values); type 2 = ASCII, 5/10 = (s)rational
        (254, 4, "I", [0]), (256, 4, "I", [width]), (257, 4, "I", [height]),
        (258, 3, "H", [16, 16, 16]), (259, 3, "H", [1]), (262, 3, "H", [34892]),  # LinearRaw
        (271, 2, "", "Acme"), (272, 2, "", "Acme Model 1"), (273, 4, "I", [0]),
        (274, 3, "H", [orientation]), (277, 3, "H", [3]), (278, 4, "I", [height]),
        (279, 4, "I", [len(pixels)]), (284, 3, "H", [1]), (50706, 1, "B", [1, 4, 0, 0]),
        (50708, 2, "", "Acme Model 1"), (50721, 10, "i", [1, 1, 0, 1, 0, 1, 0, 1, 1, 1, 0, 1, 0, 1, 0, 1, 1, 1]),
        (50728, 5, "I", [1] * 6),
    ]  # fmt: skip
    tags: list[tuple[int, int, int, bytes]] = []
    for tag, kind, fmt, values in fields:
        if kind == 2:
            raw = values.encode() + b"\0"
            tags.append((tag, kind, len(raw), raw))
        else:
            count = len(values) // (2 if kind in (5, 10) else 1)
            tags.append((tag, kind, count, struct.pack(f"<{len(values)}{fmt}", *values)))
    tags.sort()
    extra_at = 8 + 2 + 12 * len(tags) + 4
    extra = b""
    strip_at = extra_at + sum(len(v) + len(v) % 2 for _, _, _, v in tags if len(v) > 4)
    ifd = struct.pack("<H", len(tags))
    for tag, kind, count, value in tags:
        if tag == 273:
            value = struct.pack("<I", strip_at)
        if len(value) > 4:
            ifd += struct.pack("<HHII", tag, kind, count, extra_at + len(extra))
            extra += value + b"\0" * (len(value) % 2)
        else:
            ifd += struct.pack("<HHI", tag, kind, count) + value.ljust(4, b"\0")
    return b"II*\0" + struct.pack("<I", 8) + ifd + b"\0\0\0\0" + extra + pixels


def test_dng_without_preview_is_demosaiced_upright(tmp_path: Path) -> None:
    pytest.importorskip("rawpy")
    path = tmp_path / "IMG_0001.DNG"
    path.write_bytes(_linear_dng(orientation=6))
    loaded = load_image(path, 32)
    info = loaded.info
    assert (info.format, info.width, info.height, info.orientation) == ("RAW", 48, 64, 6)
    assert info.camera == "Acme Model 1" and read_info(path) == info
    assert loaded.image.size == (24, 32) and loaded.image.mode == "RGB"
    r, g, _ = loaded.image.getpixel((0, 0))  # stored bottom-left (no red, full green) is now top-left
    assert r < 40 and g > 200


def test_raw_preview_is_used_and_turned_upright(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rawpy = pytest.importorskip("rawpy")
    preview = Image.new("RGB", (1200, 800), (0, 0, 255))
    preview.paste((255, 0, 0), (0, 0, 600, 800))  # left half red, as the sensor saw it
    jpeg = io.BytesIO()
    preview.save(jpeg, "JPEG")

    class FakeRaw:
        sizes = type("Sizes", (), {"flip": 6, "width": 6000, "height": 4000})()

        def __enter__(self) -> FakeRaw:
            return self

        def __exit__(self, *exc: object) -> None:
            pass

        def extract_thumb(self) -> object:
            return type("Thumb", (), {"format": rawpy.ThumbFormat.JPEG, "data": jpeg.getvalue()})()

        def postprocess(self, **kwargs: object) -> np.ndarray:
            raise AssertionError("the preview is big enough: no demosaic")

    monkeypatch.setattr(rawpy, "imread", lambda fp: FakeRaw())
    path = tmp_path / "DSC_0001.NEF"
    path.write_bytes(_linear_dng())
    loaded = load_image(path, 300)
    assert loaded.image.size == (200, 300)  # rotated to portrait like the camera held it
    assert (loaded.info.width, loaded.info.height, loaded.info.orientation) == (4000, 6000, 6)
    assert loaded.image.getpixel((100, 10))[0] > 200  # the red half is now on top


def test_libtiffs_messages_about_a_broken_tiff_stay_off_the_terminal(data: Path, tmp_path: Path) -> None:
    # libtiff prints from C, past sys.stderr: only a child process's real stderr shows them
    broken = data / "malformed" / "pillow-tests" / "crash-2020-10-test.tif"
    script = ("import sys\nfrom mgdesk.core.imaging import ImageLoadError, load_image\n"
              "try:\n    load_image(sys.argv[1], 256)\n    print('ok')\n"
              "except ImageLoadError as err:\n    print(err.reason.value)\n")
    raw = subprocess.run([sys.executable, "-c", "import sys\nfrom PIL import Image\ntry:\n"
                          "    Image.open(sys.argv[1]).load()\nexcept Exception:\n    pass\n", str(broken)],
                         capture_output=True, text=True, timeout=120)
    assert "TIFF" in raw.stderr  # Pillow alone lets them through
    quiet = subprocess.run([sys.executable, "-c", script, str(broken)], capture_output=True, text=True,
                           timeout=120)
    assert quiet.returncode == 0 and quiet.stdout.strip()  # the file still loads or fails, typed
    assert "TIFF" not in quiet.stderr, quiet.stderr[:500]


def test_a_decoders_raw_bytes_and_bare_status_codes_are_said_in_words(tmp_path: Path) -> None:
    good = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(good, "PNG")
    data = good.getvalue()
    first_after_ihdr = 8 + 25  # signature, then IHDR (length, type, 13 bytes, CRC)
    garbled = data[:first_after_ihdr + 4] + b"\xf4\xa8\x81\xe1" + data[first_after_ihdr + 8:]
    path = tmp_path / "garbled.png"
    path.write_bytes(garbled)
    with pytest.raises(ImageLoadError) as err:
        load_image(path, 64)
    assert "\\x" not in str(err.value) and "b'" not in str(err.value), str(err.value)
    assert err.value.reason in (LoadFailure.CORRUPT, LoadFailure.TRUNCATED)
    status = ImageLoadError("/x/y.jpg", LoadFailure.CORRUPT, "decoder error -2")
    assert str(status) == "corrupt image: /x/y.jpg (the image data does not decode, decoder error -2)"


def test_the_failure_can_be_said_without_the_path_where_the_file_is_named_already() -> None:
    err = ImageLoadError("/x/y.jpg", LoadFailure.CORRUPT, "broken data stream")
    assert err.why == "corrupt image (broken data stream)"
    assert ImageLoadError("/x/y.jpg", LoadFailure.EMPTY).why == "empty file"
