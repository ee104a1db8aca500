"""Camera scanning: frames from a source, codes found by zbar, each code reported once.

A :class:`FrameSource` yields Pillow images: :class:`ImageFolderSource` replays
recorded frames (a folder of images or one image), :class:`VideoDeviceSource`
reads a camera (or a video file) through OpenCV when it is installed, and
:func:`frames_from_images` wraps a list for tests. :class:`CodeDecoder` finds
QR codes and retail barcodes in one frame. :class:`CameraScanner` ties them
together: it decodes at most once per ``min_interval``, reports a code once
while it stays in view, and hands every new code to
:func:`cashier.devices.scanner.classify`.

Pillow, pyzbar and OpenCV are imported only when a source or decoder is made,
so importing this module costs nothing. Nothing here imports Textual.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from cashier.devices.scanner import ScannedCode, classify
from cashier.errors import DeviceError
from cashier.messages import say

if TYPE_CHECKING:
    from PIL.Image import Image

# Float time stamps: an interval that is min_interval "on paper" may come out a hair smaller.
_TOLERANCE = 1e-9

IMAGE_SUFFIXES = frozenset(
    {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pgm", ".ppm", ".pbm"}
)

# The symbologies met at a pharmacy counter: the 医保码 and 付款码 (QR) and
# product barcodes. Fewer symbologies: faster decoding and fewer false reads.
SYMBOLOGIES = ("QRCODE", "EAN13", "EAN8", "CODE128", "UPCA")


def _reason(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


# -- frame sources ---------------------------------------------------------------------


class FrameSource(Protocol):
    """Where frames come from: iterating yields Pillow images (any mode); ``close()`` frees it.

    Iteration ends when the source has no more frames (a recording played
    out); a source that fails raises :class:`DeviceError`. A generator of
    images satisfies this protocol too.
    """

    def __iter__(self) -> Iterator[Image]: ...

    def close(self) -> None: ...


class _ImageList:
    """A fixed list of frames, played once."""

    def __init__(self, images: Iterable[Image]) -> None:
        self.images = list(images)

    def __iter__(self) -> Iterator[Image]:
        return iter(self.images)

    def close(self) -> None:
        pass


def frames_from_images(images: Iterable[Image]) -> FrameSource:
    """A source that plays these images once, in order (for tests and tools)."""
    return _ImageList(images)


class ImageFolderSource:
    """Recorded frames: the image files of a folder in file-name order, or one image file.

    ``loop=True`` plays them again and again; ``fps`` paces them in real time
    (``None``: as fast as they load). A missing or empty folder, or a file
    that is not a readable image, raises :class:`DeviceError`.
    """

    def __init__(
        self, path: str | os.PathLike[str], *, loop: bool = False, fps: float | None = None
    ) -> None:
        if fps is not None and not fps > 0:
            raise ValueError("fps must be positive")
        self.path = Path(path)
        self.loop = loop
        self.fps = fps
        if self.path.is_dir():
            self.files = sorted(
                p for p in self.path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
            )
            if not self.files:
                raise DeviceError(say("device.camera.folder_empty", path=self.path))
        elif self.path.is_file():
            self.files = [self.path]
        else:
            raise DeviceError(say("device.camera.recording_missing", path=self.path))
        self._closed = threading.Event()

    def __iter__(self) -> Iterator[Image]:
        from PIL import Image

        period = 1.0 / self.fps if self.fps else 0.0
        due = time.monotonic()
        while not self._closed.is_set():
            for path in self.files:
                if period:
                    # Event.wait, not sleep: close() from another thread ends the wait.
                    if self._closed.wait(max(0.0, due - time.monotonic())):
                        return
                    due = max(due + period, time.monotonic())
                elif self._closed.is_set():
                    return
                try:
                    with Image.open(path) as opened:
                        frame = opened.copy()  # loaded into memory; the file is closed
                except (OSError, ValueError) as exc:
                    raise DeviceError(
                        say("device.camera.frame_unreadable", path=path, value=_reason(exc))
                    ) from None
                yield frame
            if not self.loop:
                return

    def close(self) -> None:
        self._closed.set()


class VideoDeviceSource:
    """A camera (``/dev/video0``, a camera index) or a video file, read with OpenCV.

    OpenCV is optional and not a dependency: without ``cv2`` this raises
    :class:`DeviceError` saying what to install. Frames come out as greyscale
    ('L') images, which is all the decoder needs. A camera that stops giving
    frames raises :class:`DeviceError`; a video file simply ends. Iterate and
    close from the same thread (:meth:`CameraScanner.run` does).
    """

    def __init__(self, device: str | int = "/dev/video0") -> None:
        self.device = device
        # OpenCV logs warnings straight to fd 2, which would scribble over the terminal UI.
        os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
        try:
            import cv2
        except ImportError:
            raise DeviceError(say("device.camera.no_opencv", device=device)) from None
        self._cv2 = cv2
        is_path = isinstance(device, str)
        if is_path and str(device).startswith("/dev/") and not os.path.exists(device):
            raise DeviceError(say("device.camera.missing", device=device))
        self._is_file = is_path and os.path.isfile(device)
        capture = cv2.VideoCapture(device)
        if not capture.isOpened():
            capture.release()
            raise DeviceError(say("device.camera.busy", device=device))
        self._capture = capture

    def __iter__(self) -> Iterator[Image]:
        from PIL import Image

        cv2 = self._cv2
        while self._capture is not None:
            ok, frame = self._capture.read()
            if not ok:
                if self._is_file:
                    return
                raise DeviceError(say("device.camera.no_picture", device=self.device))
            grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
            height, width = grey.shape[:2]
            yield Image.frombytes("L", (width, height), grey.tobytes())

    def close(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None


# -- decoding ----------------------------------------------------------------------------


class CodeDecoder:
    """Finds QR codes and retail barcodes in one frame, with zbar (pyzbar).

    Only ``symbologies`` are looked for (names of ``pyzbar.ZBarSymbol``;
    default :data:`SYMBOLOGIES`). Without the zbar library this raises
    :class:`DeviceError` saying ``apt-get install libzbar0``.
    """

    def __init__(self, symbologies: Iterable[str] = SYMBOLOGIES) -> None:
        try:
            from pyzbar import pyzbar
        except ImportError as exc:
            if exc.name == "pyzbar":
                raise DeviceError(say("device.camera.no_pyzbar")) from None
            raise DeviceError(say("device.camera.no_zbar", value=_reason(exc))) from None
        self._decode = pyzbar.decode
        try:
            self.symbols = [pyzbar.ZBarSymbol[name] for name in symbologies]
        except KeyError as exc:
            raise ValueError(f"unknown symbology: {exc.args[0]}") from None

    def decode(self, image: Image) -> list[str]:
        """The texts of the codes in ``image``, each once, in the order zbar found them."""
        grey = image if image.mode == "L" else image.convert("L")
        found: list[str] = []
        for symbol in self._decode(grey, symbols=self.symbols):
            # zbar hands every symbol's text over as UTF-8, whatever the code carried.
            text = symbol.data.decode("utf-8", errors="replace")
            if text not in found:
                found.append(text)
        return found


# -- scanning ------------------------------------------------------------------------------


class CameraScanner:
    """Turns a stream of frames into scans, each code reported once while it stays in view.

    * At most one frame is decoded per ``min_interval`` seconds; the frames in
      between are dropped (a camera keeps delivering them anyway).
    * A code is reported when it comes into view, and again only after it
      has not been seen for ``repeat_after`` seconds; a frame or two in which
      it is not found (motion, glare) does not make it new.
    * Every code goes through :func:`~cashier.devices.scanner.classify`.

    ``clock`` gives the time of each frame as it arrives (``time.monotonic``).
    The scanner owns its source and closes it when the scans end. Any failure
    of the source comes out as :class:`DeviceError` with a message fit to show.
    """

    def __init__(
        self,
        source: FrameSource,
        decoder: CodeDecoder,
        *,
        min_interval: float = 0.1,
        repeat_after: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if min_interval < 0:
            raise ValueError("min_interval must not be negative")
        if not repeat_after > 0:
            raise ValueError("repeat_after must be positive")
        self.source = source
        self.decoder = decoder
        self.min_interval = float(min_interval)
        self.repeat_after = float(repeat_after)
        self.clock = clock
        self._last_decode: float | None = None
        self._last_seen: dict[str, float] = {}

    def feed(self, frame: Image, now: float) -> list[ScannedCode]:
        """One frame that arrived at ``now``: the codes new in view (often none).

        A frame that comes less than ``min_interval`` after the last decoded
        one is not decoded at all.
        """
        if (
            self._last_decode is not None
            and now - self._last_decode < self.min_interval - _TOLERANCE
        ):
            return []
        self._last_decode = now
        # Codes not seen for repeat_after are forgotten: they will count as new.
        self._last_seen = {
            text: seen
            for text, seen in self._last_seen.items()
            if now - seen < self.repeat_after - _TOLERANCE
        }
        new: list[ScannedCode] = []
        for text in self.decoder.decode(frame):
            if text not in self._last_seen:
                new.append(classify(text))
            self._last_seen[text] = now
        return new

    def scans(self, stop: threading.Event | None = None) -> Iterator[ScannedCode]:
        """The new codes as frames arrive, until the source ends or ``stop`` is set."""
        try:
            try:
                frames = iter(self.source)
            except DeviceError:
                raise
            except Exception as exc:
                raise DeviceError(say("device.camera.read_failed", value=_reason(exc))) from None
            while stop is None or not stop.is_set():
                try:
                    frame = next(frames)
                except StopIteration:
                    return
                except DeviceError:
                    raise
                except Exception as exc:  # OpenCV, Pillow and the OS raise many kinds
                    raise DeviceError(
                        say("device.camera.read_failed", value=_reason(exc))
                    ) from None
                yield from self.feed(frame, self.clock())
        finally:
            self.close()

    def __iter__(self) -> Iterator[ScannedCode]:
        return self.scans()

    def run(self, callback: Callable[[ScannedCode], None], stop: threading.Event) -> None:
        """Scan in this thread, calling ``callback(code)`` for each new code, until ``stop`` is set.

        Blocks; returns when ``stop`` is set (checked after every frame) or
        the source ends, and closes the source. Made for a Textual thread
        worker, with the callback passing each code back to the UI thread::

            self.camera_stop = threading.Event()

            @work(thread=True, exclusive=True, exit_on_error=False, group="camera")
            def watch_camera(self) -> None:
                scanner.run(lambda code: self.call_from_thread(self.scanned, code),
                            self.camera_stop)

        Set the event (on unmount, or when scans stop being wanted) to end the
        worker. A :class:`DeviceError` ends it in the ERROR state; its message
        is fit to show as it is.
        """
        for code in self.scans(stop):
            callback(code)

    def close(self) -> None:
        """Close the source."""
        self.source.close()
