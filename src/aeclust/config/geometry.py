"""Whether a model entry fits the images it is given (their side is known only at train time)."""

from __future__ import annotations

from aeclust.config.fields import fail
from aeclust.config.schema import ContrastiveParams, ConvParams, ModelParams
from aeclust.errors import ParamsError


def check_conv_geometry(name: str, spec: ConvParams, side: int) -> None:
    """Fail unless the conv autoencoder `spec` fits square images of `side` pixels.

    The encoder's same-padded conv keeps the side, the valid stride-1 pool leaves
    side - pool_size + 1, and the stride-2 transposed conv doubles the latent, so
    the latent must be side/2 x side/2 (and side even).
    """
    where = f"models.{name}"
    if side % 2:
        raise ParamsError(
            f"{where}: kind 'conv' needs images of an even side (latent = side/2); these are "
            f"{side}x{side}: use kind 'dense'"
        )
    if spec.pool_size > side:
        raise fail(f"{where}.pool_size", spec.pool_size, f"must be <= the image side ({side})")
    expected = [side // 2, side // 2]
    if list(spec.latent_shape) != expected:
        raise fail(
            f"{where}.latent_shape",
            list(spec.latent_shape),
            f"must be {expected} for {side}x{side} images (the decoder doubles it)",
        )


def contrastive_side(side: int, n_convs: int) -> int:
    """The side of a contrastive encoder's last feature map: each 5x5 same-padded stride-2
    conv leaves ceil(side / 2), the last (3x3, valid, stride 2) floor((side - 3) / 2) + 1."""
    for _ in range(n_convs - 1):
        side = (side + 1) // 2
    return (side - 3) // 2 + 1 if side >= 3 else 0


def check_contrastive_geometry(name: str, spec: ContrastiveParams, side: int) -> None:
    """Fail unless the contrastive encoder's convs leave a feature map on `side`-pixel images."""
    if contrastive_side(side, len(spec.filters)) < 1:
        raise fail(
            f"models.{name}.filters",
            list(spec.filters),
            f"{len(spec.filters)} stride-2 convs leave nothing of {side}x{side} images: use fewer",
        )


def check_geometry(name: str, spec: ModelParams, side: int) -> None:
    """The model kind's check that `spec` fits square images of `side` pixels."""
    if isinstance(spec, ConvParams):
        check_conv_geometry(name, spec, side)
    elif isinstance(spec, ContrastiveParams):
        check_contrastive_geometry(name, spec, side)
