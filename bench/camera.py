"""Decode time per 640×480 camera frame: with a 医保码 QR, with an EAN-13, with nothing.

    python -m bench.camera [--frames N] [--runs R] [--quick]

Each figure is the median over R runs of the median time to decode one frame
(N frames a run), for the camera's decoder (QR, EAN-13, EAN-8, Code 128,
UPC-A) and for a QR-only decoder next to it. Timings are reported, never
asserted.

The frame builders here (:func:`qr_image`, :func:`ean13_image`,
:func:`frame`) also make the frames of ``tests/integration/test_camera.py``: synthetic,
deterministic, no camera needed.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from bench.report import Figure, Section

if TYPE_CHECKING:
    from PIL.Image import Image

# A 医保码 payload as the sandbox's dynamic QR carries it: ``ybm:`` + 32 url-safe characters.
EVOUCHER_PAYLOAD = "ybm:Qx7_k2Lm-9ZtR4vB8nW0pYc3Hs6dJ1aE"
PRODUCT_EAN13 = "6901234567892"
FRAME_SIZE = (640, 480)


def qr_image(payload: str, *, box_size: int = 4, border: int = 4) -> Image:
    """A QR code as a greyscale image (qrcode library), ``box_size`` pixels a module."""
    import qrcode

    code = qrcode.QRCode(box_size=box_size, border=border)
    code.add_data(payload)
    code.make(fit=True)
    return code.make_image().get_image().convert("L")


def ean13_image(code: str, *, module_px: int = 3, height_px: int = 120) -> Image:
    """An EAN-13 symbol as a greyscale image (python-barcode), ``module_px`` pixels a module."""
    from barcode import EAN13
    from barcode.writer import ImageWriter

    # python-barcode sizes in millimetres: at 254 dpi one pixel is 0.1 mm.
    options = {
        "dpi": 254,
        "module_width": module_px / 10,
        "module_height": height_px / 10,
        "quiet_zone": 10 * module_px / 10,
        "write_text": False,
    }
    return EAN13(code, writer=ImageWriter()).render(options).convert("L")


def frame(
    *codes: Image,
    angle: float = 0.0,
    scale: float = 1.0,
    noise: float = 0.0,
    blur: float = 0.0,
    seed: int = 0,
    size: tuple[int, int] = FRAME_SIZE,
) -> Image:
    """A camera-like greyscale frame holding ``codes`` side by side on a grey desk.

    Each code is scaled by ``scale`` and turned by ``angle`` degrees (with
    expand). ``noise`` (0–1) blends in uniform noise from ``seed``; ``blur`` is
    a Gaussian blur radius. No codes and ``noise=1`` is pure noise.
    """
    from PIL import Image, ImageFilter

    canvas = Image.new("L", size, 170)
    slot = size[0] // max(1, len(codes))
    for i, code in enumerate(codes):
        if scale != 1.0:
            new_size = (round(code.width * scale), round(code.height * scale))
            code = code.resize(new_size, Image.Resampling.BICUBIC)
        if angle:
            code = code.rotate(angle, Image.Resampling.BICUBIC, expand=True, fillcolor=255)
        x = i * slot + (slot - code.width) // 2
        y = (size[1] - code.height) // 2
        canvas.paste(code, (x, y))
    if noise:
        rng = random.Random(seed)
        speckle = Image.frombytes("L", size, rng.randbytes(size[0] * size[1]))
        canvas = Image.blend(canvas, speckle, noise)
    if blur:
        canvas = canvas.filter(ImageFilter.GaussianBlur(blur))
    return canvas


def median_decode_ms(
    decode: Callable[[Image], list[str]], image: Image, frames: int, runs: int
) -> float:
    """Median over ``runs`` of the median milliseconds one ``decode(image)`` takes."""
    decode(image)  # warm-up: loads zbar, fills caches
    per_run = []
    for _ in range(runs):
        times = []
        for _ in range(frames):
            start = time.perf_counter()
            decode(image)
            times.append(time.perf_counter() - start)
        per_run.append(statistics.median(times))
    return statistics.median(per_run) * 1000


def run(quick: bool = False, frames: int | None = None, runs: int | None = None) -> Section:
    from cashier.devices.camera import CodeDecoder

    frames = frames or (5 if quick else 30)
    runs = runs or (1 if quick else 5)
    full, qr_only = CodeDecoder(), CodeDecoder(["QRCODE"])
    scenes = {
        "医保码 QR": (frame(qr_image(EVOUCHER_PAYLOAD), noise=0.1), EVOUCHER_PAYLOAD),
        "EAN-13": (frame(ean13_image(PRODUCT_EAN13), noise=0.1), PRODUCT_EAN13),
        "nothing": (frame(noise=0.1), None),
    }
    rows = []
    for name, (image, expected) in scenes.items():
        found = full.decode(image)
        if found != ([expected] if expected else []):
            raise RuntimeError(f"{name}: the camera decoder found {found}, not {expected}")
        t_full = median_decode_ms(full.decode, image, frames, runs)
        t_qr = median_decode_ms(qr_only.decode, image, frames, runs)
        rows.append((name, t_full, t_qr))
    figures = [
        Figure(
            "camera",
            f"camera frame decode, {name}",
            t_full,
            "ms",
            baseline=t_qr,
            baseline_name="QR-only decoder",
        )
        for name, t_full, t_qr in rows
        if name == "医保码 QR"
    ]
    body = [
        f"Median of {runs} runs × {frames} frames, {FRAME_SIZE[0]}×{FRAME_SIZE[1]} greyscale "
        "with 10 % noise, ms per frame.",
        "",
        "| frame | camera decoder (QR, EAN-13, EAN-8, Code 128, UPC-A) | QR only |",
        "|---|---|---|",
        *(f"| {name} | {t_full:.1f} | {t_qr:.1f} |" for name, t_full, t_qr in rows),
        "",
        "At the default rate limit (10 decodes a second) the camera decoder keeps up to",
        f"{max(r[1] for r in rows) / 100:.0%} of one core busy.",
    ]
    return Section("camera", "Camera decoding", "\n".join(body), figures)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, help="frames decoded per run (default 30)")
    parser.add_argument("--runs", type=int, help="runs; the median is reported (default 5)")
    parser.add_argument("--quick", action="store_true", help="5 frames, one run")
    args = parser.parse_args(argv)
    print(run(args.quick, args.frames, args.runs).markdown())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
