"""The checks every image source goes through: pixels are numbers 0..255 (floats only if
they are whole numbers: nothing is rounded or rescaled behind the user's back), images are
square, and there is one whole-number label per image. Each failure is one `DataError` line
naming the origin and what is wrong."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from aeclust.errors import DataError

Arrays = tuple[np.ndarray, np.ndarray]


def one_line(exc: BaseException) -> str:
    """An exception's message on one line (some span several), or its type if it has none."""
    return " ".join(str(exc).split()) or type(exc).__name__


def checked_arrays(images: Any, labels: Any, origin: str) -> Arrays:
    """Validate a loaded image set and return it as (uint8 (n, side, side), int64 (n,)).

    `images` may be (n, side, side) or (n, side*side) with side*side a perfect square; its
    values must be numbers 0..255. Floats are accepted only when they are whole numbers
    (data scaled to [0, 1] is refused rather than guessed at). `labels` must hold one whole
    number per image; strings of digits ('7', as fetch_openml's targets) are converted.
    `origin` (a file, or the source) starts every error message.
    """
    images = _numbers(images, origin, "images")
    if images.ndim == 2:
        side = math.isqrt(images.shape[1])
        if side > 0 and side * side == images.shape[1]:
            images = images.reshape(-1, side, side)  # (n, side*side) -> (n, side, side)
    if not (images.ndim == 3 and images.shape[1] == images.shape[2] > 0):
        raise DataError(
            f"{origin}: images have shape {images.shape}; expected (n, side, side), "
            "or (n, side*side) with side*side a perfect square"
        )
    if len(images) == 0:
        raise DataError(f"{origin}: holds no images")
    labels = _labels(labels, origin)
    if len(labels) != len(images):
        raise DataError(f"{origin}: {len(images)} images but {len(labels)} labels")
    if images.dtype.kind == "f":
        _check_finite(images, origin)
    low, high = images.min(), images.max()
    if low < 0 or high > 255:
        raise DataError(
            f"{origin}: pixel values must be 0..255, found min {low:g} and max {high:g}"
        )
    if images.dtype.kind == "f":
        _check_whole(images, float(low), float(high), origin)
    return np.ascontiguousarray(images, dtype=np.uint8), np.ascontiguousarray(labels)


def _numbers(values: Any, origin: str, what: str) -> np.ndarray:
    try:
        array = np.asarray(values)
        if array.dtype.kind == "O":  # e.g. a DataFrame with mixed columns
            array = array.astype(np.float64)
    except (ValueError, TypeError) as exc:
        raise DataError(f"{origin}: {what} are not an array of numbers ({one_line(exc)})") from None
    if array.dtype.kind not in "iuf":
        raise DataError(f"{origin}: {what} must be numbers, not {array.dtype}")
    return array


def _check_finite(images: np.ndarray, origin: str) -> None:
    finite = np.isfinite(images)
    if not finite.all():
        flat_index = int(np.argmin(finite.reshape(-1)))
        value = images.reshape(-1)[flat_index]
        count = int(finite.size - np.count_nonzero(finite))
        raise DataError(
            f"{origin}: found {count} NaN or infinite pixel values, the first ({value}) in image "
            f"{flat_index // (images.shape[1] * images.shape[2])}; pixels must be numbers 0..255"
        )


def _check_whole(images: np.ndarray, low: float, high: float, origin: str) -> None:
    # Block by block: a rounded copy of 70000 float64 images would be another 440 MB.
    for start in range(0, len(images), 4096):
        block = images[start : start + 4096]
        fractional = np.nonzero(block != np.round(block))[0]
        if len(fractional):
            if high <= 1:
                raise DataError(
                    f"{origin}: pixel values look scaled to [0, 1] (min {low:g}, max {high:g}); "
                    "give raw 0..255 pixels"
                )
            index = start + int(fractional[0])
            value = images[index][images[index] != np.round(images[index])][0]
            raise DataError(
                f"{origin}: pixel values must be whole numbers 0..255, "
                f"found {value:g} in image {index}"
            )


def _labels(values: Any, origin: str) -> np.ndarray:
    try:
        labels = np.asarray(values)
    except (ValueError, TypeError) as exc:
        raise DataError(f"{origin}: labels are not an array ({one_line(exc)})") from None
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]  # (n, 1) -> (n,)
    if labels.ndim != 1:
        raise DataError(f"{origin}: labels have shape {labels.shape}; expected (n,)")
    if labels.dtype.kind in "OUS":  # strings of digits, as fetch_openml's targets
        try:
            labels = labels.astype(np.float64)
        except (ValueError, TypeError) as exc:
            for index, value in enumerate(labels):
                if not is_number(value):
                    shown = value.item() if isinstance(value, np.generic) else value  # not np.str_
                    raise DataError(
                        f"{origin}: label {shown!r} (image {index}) is not a whole number"
                    ) from None
            raise DataError(f"{origin}: labels are not numbers ({one_line(exc)})") from None
    if labels.dtype.kind in "biu":
        return labels.astype(np.int64)
    if labels.dtype.kind != "f":
        raise DataError(f"{origin}: labels must be whole numbers, not {labels.dtype}")
    bad = np.nonzero(~np.isfinite(labels) | (labels != np.round(labels)))[0]
    if len(bad):
        raise DataError(
            f"{origin}: label {labels[bad[0]]:g} (image {bad[0]}) is not a whole number"
        )
    return labels.astype(np.int64)


def is_number(value: Any) -> bool:
    try:
        float(value)
    except (ValueError, TypeError):
        return False
    return True


def pooled(parts: list[tuple[Any, Any, str]]) -> Arrays:
    """Check each (images, labels, origin) part and concatenate them in order."""
    checked = [
        (*checked_arrays(images, labels, origin), origin) for images, labels, origin in parts
    ]
    first_images, _, first_origin = checked[0]
    for images, _, origin in checked[1:]:
        if images.shape[1:] != first_images.shape[1:]:
            raise DataError(
                f"{origin}: images are {images.shape[1]}x{images.shape[2]} but those of "
                f"{first_origin} are {first_images.shape[1]}x{first_images.shape[2]}"
            )
    if len(checked) == 1:
        return checked[0][0], checked[0][1]
    return (
        np.concatenate([images for images, _, _ in checked]),
        np.concatenate([labels for _, labels, _ in checked]),
    )
