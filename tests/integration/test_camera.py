"""Camera scanning on synthetic frames: real zbar (pyzbar) on Pillow images, no camera.

QR codes come from the qrcode library, EAN-13 symbols from python-barcode;
both are drawn into 640×480 greyscale frames by ``bench.camera.frame``. There
is no /dev/video* here: recorded frames go through the same frame-source
interface a camera uses. Time is a fake clock advanced by the frame source,
30 frames a second.
"""

from __future__ import annotations

import itertools
import sys
import threading
import types
from collections.abc import Iterable, Iterator

import pytest
from PIL import Image

from bench.camera import EVOUCHER_PAYLOAD, PRODUCT_EAN13, ean13_image, frame, qr_image
from cashier.devices.camera import (
    CameraScanner,
    CodeDecoder,
    ImageFolderSource,
    VideoDeviceSource,
    frames_from_images,
)
from cashier.devices.scanner import ScanKind
from cashier.errors import DeviceError

FPS = 30


@pytest.fixture(scope="module")
def decoder() -> CodeDecoder:
    try:
        return CodeDecoder()
    except DeviceError as exc:  # no skip: the system part is missing, say which
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="module")
def qr() -> Image.Image:
    return qr_image(EVOUCHER_PAYLOAD)


@pytest.fixture(scope="module")
def ean() -> Image.Image:
    return ean13_image(PRODUCT_EAN13)


@pytest.fixture(scope="module")
def empty() -> Image.Image:
    return frame(noise=0.1, seed=99)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def at_fps(frames: Iterable[Image.Image], clock: FakeClock, fps: float = FPS) -> Iterator:
    """A frame source that sets the clock to each frame's arrival time (a generator has close())."""
    for i, image in enumerate(frames):
        clock.now = i / fps
        yield image


def scan_all(frames: Iterable[Image.Image], decoder: CodeDecoder, **options) -> list:
    clock = FakeClock()
    return list(CameraScanner(at_fps(frames, clock), decoder, clock=clock, **options))


# -- the decoder -----------------------------------------------------------------------


def test_decoder_reads_the_evoucher_qr(decoder: CodeDecoder, qr: Image.Image) -> None:
    assert decoder.decode(frame(qr)) == [EVOUCHER_PAYLOAD]


def test_decoder_reads_the_ean13(decoder: CodeDecoder, ean: Image.Image) -> None:
    assert decoder.decode(frame(ean)) == [PRODUCT_EAN13]


VARIANTS = {
    "noise": {"noise": 0.2, "seed": 1},
    "blur": {"blur": 1.0},
    "turned 10°": {"angle": 10},
    "turned 25°": {"angle": 25},
    "small": {"scale": 0.6},
    "large": {"scale": 1.6},
    "all at once": {"angle": 15, "scale": 0.8, "noise": 0.15, "blur": 1.0, "seed": 2},
}


@pytest.mark.parametrize("variant", VARIANTS.values(), ids=VARIANTS.keys())
@pytest.mark.parametrize("which", ["qr", "ean"])
def test_decoder_reads_imperfect_frames(
    decoder: CodeDecoder, qr: Image.Image, ean: Image.Image, which: str, variant: dict
) -> None:
    code, text = (qr, EVOUCHER_PAYLOAD) if which == "qr" else (ean, PRODUCT_EAN13)
    assert decoder.decode(frame(code, **variant)) == [text]


def test_decoder_reads_a_qr_turned_a_lot(decoder: CodeDecoder, qr: Image.Image) -> None:
    assert decoder.decode(frame(qr, angle=45, noise=0.1)) == [EVOUCHER_PAYLOAD]


def test_decoder_finds_both_codes_in_one_frame(
    decoder: CodeDecoder, qr: Image.Image, ean: Image.Image
) -> None:
    found = decoder.decode(frame(qr, ean, angle=10, noise=0.1))
    assert sorted(found) == sorted([EVOUCHER_PAYLOAD, PRODUCT_EAN13])


@pytest.mark.parametrize("seed", range(5))
def test_decoder_finds_nothing_in_noise(decoder: CodeDecoder, seed: int) -> None:
    assert decoder.decode(frame(noise=1.0, seed=seed)) == []
    assert decoder.decode(frame(noise=0.3, blur=1.0, seed=seed)) == []


def test_decoder_takes_any_image_mode(decoder: CodeDecoder, qr: Image.Image) -> None:
    assert decoder.decode(frame(qr).convert("RGB")) == [EVOUCHER_PAYLOAD]
    assert decoder.decode(frame(qr).convert("1")) == [EVOUCHER_PAYLOAD]


def test_decoder_looks_only_for_the_symbologies_asked(qr: Image.Image, ean: Image.Image) -> None:
    assert CodeDecoder(["QRCODE"]).decode(frame(qr, ean)) == [EVOUCHER_PAYLOAD]
    with pytest.raises(ValueError, match="PDF417X"):
        CodeDecoder(["PDF417X"])


def test_decoder_without_zbar_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import pyzbar
    import pyzbar.zbar_library

    def no_library() -> None:
        raise ImportError("Unable to find zbar shared library")

    # Import pyzbar afresh, as on a machine without libzbar.so.0.
    monkeypatch.setattr(pyzbar.zbar_library, "load", no_library)
    for name in ("pyzbar", "wrapper"):
        monkeypatch.delattr(pyzbar, name)
        monkeypatch.delitem(sys.modules, f"pyzbar.{name}")
    with pytest.raises(DeviceError, match=r"apt-get install libzbar0") as caught:
        CodeDecoder()
    assert caught.value.__cause__ is None


# -- the scanner: each code once while it stays in view ---------------------------------


def test_a_code_held_in_view_is_scanned_once(decoder: CodeDecoder, qr: Image.Image) -> None:
    held = [frame(qr, noise=0.1, seed=i) for i in range(30)]
    scans = scan_all(held, decoder)
    assert [(s.kind, s.text) for s in scans] == [(ScanKind.EVOUCHER, EVOUCHER_PAYLOAD)]


def test_a_code_that_returns_after_repeat_after_is_scanned_again(
    decoder: CodeDecoder, ean: Image.Image, empty: Image.Image
) -> None:
    shown = frame(ean, noise=0.1)
    gone = int(2.5 * FPS)  # longer than repeat_after=2.0
    scans = scan_all([shown] * 10 + [empty] * gone + [shown] * 10, decoder, repeat_after=2.0)
    assert [(s.kind, s.text) for s in scans] == [(ScanKind.GTIN, PRODUCT_EAN13)] * 2


def test_a_code_back_sooner_than_repeat_after_is_not_scanned_again(
    decoder: CodeDecoder, ean: Image.Image, empty: Image.Image
) -> None:
    shown = frame(ean, noise=0.1)
    gone = int(1.5 * FPS)
    scans = scan_all([shown] * 10 + [empty] * gone + [shown] * 10, decoder, repeat_after=2.0)
    assert [s.text for s in scans] == [PRODUCT_EAN13]


def test_frames_without_a_code_scan_nothing(decoder: CodeDecoder) -> None:
    assert scan_all([frame(noise=1.0, seed=i) for i in range(10)], decoder) == []


def test_two_codes_in_one_frame_are_two_scans(
    decoder: CodeDecoder, qr: Image.Image, ean: Image.Image
) -> None:
    both = frame(qr, ean, noise=0.1)
    scans = scan_all([both] * 15, decoder)
    assert sorted((s.kind.value, s.text) for s in scans) == sorted(
        [(ScanKind.EVOUCHER.value, EVOUCHER_PAYLOAD), (ScanKind.GTIN.value, PRODUCT_EAN13)]
    )


def test_a_second_code_joining_the_first_is_scanned_alone(
    decoder: CodeDecoder, qr: Image.Image, ean: Image.Image
) -> None:
    scans = scan_all([frame(qr)] * 6 + [frame(qr, ean)] * 6, decoder)
    assert [s.text for s in scans] == [EVOUCHER_PAYLOAD, PRODUCT_EAN13]


class CountingDecoder:
    def __init__(self, inner: CodeDecoder) -> None:
        self.inner, self.calls = inner, 0

    def decode(self, image: Image.Image) -> list[str]:
        self.calls += 1
        return self.inner.decode(image)


@pytest.mark.parametrize(("min_interval", "decodes"), [(0.1, 10), (0.25, 4), (0.0, 30)])
def test_decoding_is_rate_limited(
    decoder: CodeDecoder, empty: Image.Image, min_interval: float, decodes: int
) -> None:
    counting = CountingDecoder(decoder)
    scan_all([empty] * 30, counting, min_interval=min_interval)  # one second at 30 fps
    assert counting.calls == decodes


def test_a_frame_skipped_by_the_rate_limit_is_not_decoded(
    decoder: CodeDecoder, qr: Image.Image, empty: Image.Image
) -> None:
    # The code is in view only on frames 1 and 2, both within 0.1 s of frame 0.
    scans = scan_all([empty, frame(qr), frame(qr), empty], decoder, min_interval=0.1)
    assert scans == []


# -- sources ---------------------------------------------------------------------------


def test_image_folder_plays_files_in_name_order(
    tmp_path, decoder: CodeDecoder, qr: Image.Image, ean: Image.Image
) -> None:
    frame(ean).save(tmp_path / "b.png")
    frame(qr).save(tmp_path / "a.jpg", quality=95)
    frame(noise=0.1).save(tmp_path / "c.bmp")
    (tmp_path / "notes.txt").write_text("not a frame")
    scanner = CameraScanner(ImageFolderSource(tmp_path), decoder, min_interval=0)
    assert [(s.kind, s.text) for s in scanner] == [
        (ScanKind.EVOUCHER, EVOUCHER_PAYLOAD),
        (ScanKind.GTIN, PRODUCT_EAN13),
    ]


def test_image_folder_takes_one_file_and_loops(tmp_path, qr: Image.Image) -> None:
    path = tmp_path / "qr.png"
    frame(qr).save(path)
    assert len(list(ImageFolderSource(path))) == 1
    looping = ImageFolderSource(path, loop=True, fps=200)
    assert len(list(itertools.islice(looping, 5))) == 5
    looping.close()
    assert list(looping) == []


def test_image_folder_refuses_missing_and_empty_paths(tmp_path) -> None:
    with pytest.raises(DeviceError, match="找不到录制的画面"):
        ImageFolderSource(tmp_path / "nowhere")
    with pytest.raises(DeviceError, match="画面文件夹里没有图片"):
        ImageFolderSource(tmp_path)


def test_an_unreadable_frame_is_a_device_error(tmp_path, decoder: CodeDecoder) -> None:
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    scanner = CameraScanner(ImageFolderSource(tmp_path), decoder)
    with pytest.raises(DeviceError, match=r"无法读取画面文件.*broken\.png") as caught:
        list(scanner)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


class FailingSource:
    """Gives one frame, then fails the way a driver might; records close()."""

    def __init__(self, image: Image.Image) -> None:
        self.image, self.closed = image, False

    def __iter__(self) -> Iterator[Image.Image]:
        yield self.image
        raise OSError(5, "Input/output error")

    def close(self) -> None:
        self.closed = True


def test_a_failing_source_is_a_device_error_and_is_closed(
    decoder: CodeDecoder, qr: Image.Image
) -> None:
    source = FailingSource(frame(qr))
    seen = []
    with pytest.raises(DeviceError, match=r"摄像头画面读取失败.*Input/output error") as caught:
        for code in CameraScanner(source, decoder):
            seen.append(code.text)
    assert seen == [EVOUCHER_PAYLOAD]
    assert caught.value.__suppress_context__
    assert source.closed


def test_frames_from_images_plays_a_list_once(decoder: CodeDecoder, qr: Image.Image) -> None:
    source = frames_from_images([frame(qr), frame(noise=0.1)])
    assert [s.text for s in CameraScanner(source, decoder, min_interval=0)] == [EVOUCHER_PAYLOAD]


def test_run_calls_back_until_stopped(tmp_path, decoder: CodeDecoder, qr: Image.Image) -> None:
    frame(qr).save(tmp_path / "qr.png")
    source = ImageFolderSource(tmp_path, loop=True, fps=60)
    scanner = CameraScanner(source, decoder)
    codes, first, stop = [], threading.Event(), threading.Event()

    def callback(code) -> None:
        codes.append(code)
        first.set()

    worker = threading.Thread(target=scanner.run, args=(callback, stop))
    worker.start()
    assert first.wait(10), "no scan from a looping folder"
    stop.set()
    worker.join(10)
    assert not worker.is_alive()
    assert [(c.kind, c.text) for c in codes] == [(ScanKind.EVOUCHER, EVOUCHER_PAYLOAD)]
    assert list(source) == []  # closed when run() returned


# -- the video device (OpenCV is optional and not installed here) ------------------------


def test_no_opencv_means_no_camera_with_a_clear_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "cv2", None)  # import cv2 fails, as without OpenCV
    with pytest.raises(DeviceError, match=r"没有可用的摄像头（/dev/video0）.*opencv"):
        VideoDeviceSource()


class _Grey:
    """What cv2.cvtColor returns, as far as VideoDeviceSource uses it."""

    def __init__(self, image: Image.Image) -> None:
        self.image = image
        self.shape = (image.height, image.width)

    def tobytes(self) -> bytes:
        return self.image.tobytes()


def fake_cv2(frames: list[Image.Image], *, opens: bool = True) -> types.ModuleType:
    """A stand-in for OpenCV's capture API: ``frames``, then read() fails (camera unplugged)."""
    module = types.ModuleType("cv2")
    module.COLOR_BGR2GRAY = 6
    module.released = []

    class VideoCapture:
        def __init__(self, device) -> None:
            self.device, self.left = device, list(frames)

        def isOpened(self) -> bool:  # OpenCV's name
            return opens

        def read(self):
            return (True, self.left.pop(0)) if self.left else (False, None)

        def release(self) -> None:
            module.released.append(self.device)

    module.VideoCapture = VideoCapture
    module.cvtColor = lambda image, code: _Grey(image.convert("L"))
    return module


def test_a_camera_that_stops_giving_frames_is_a_device_error(
    monkeypatch: pytest.MonkeyPatch, decoder: CodeDecoder, qr: Image.Image
) -> None:
    cv2 = fake_cv2([frame(qr).convert("RGB")] * 3)
    monkeypatch.setitem(sys.modules, "cv2", cv2)
    clock = FakeClock()
    scanner = CameraScanner(VideoDeviceSource(0), decoder, clock=clock)
    seen = []
    with pytest.raises(DeviceError, match=r"摄像头（0）没有画面"):
        for code in scanner:
            seen.append(code.text)
    assert seen == [EVOUCHER_PAYLOAD]
    assert cv2.released == [0]


def test_a_camera_that_will_not_open_is_a_device_error(monkeypatch: pytest.MonkeyPatch) -> None:
    cv2 = fake_cv2([], opens=False)
    monkeypatch.setitem(sys.modules, "cv2", cv2)
    with pytest.raises(DeviceError, match=r"没有可用的摄像头（1）：无法打开"):
        VideoDeviceSource(1)
    assert cv2.released == [1]
    with pytest.raises(DeviceError, match=r"没有可用的摄像头（/dev/video-none）：设备不存在"):
        VideoDeviceSource("/dev/video-none")
