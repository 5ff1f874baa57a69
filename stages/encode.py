"""encode@<model>: latents (n, d), reconstructions and reconstruction MSE of a trained model.

A contrastive model reconstructs nothing: latents only, and an MSE of null.

Usage: python stages/encode.py <model>
"""

from aeclust.config import load_params, select_model
from aeclust.imports import bulk_imports, import_keras
from aeclust.io import paths
from aeclust.io.storage import load_array, save_array, save_json
from aeclust.stage import run_stage


def main(argv: list[str]) -> None:
    params = load_params(paths.PARAMS)
    name, spec = select_model(params, argv)
    images = load_array(paths.standardized(spec.scaling))

    with bulk_imports():
        import_keras(params.backend)
        from aeclust.nets.encoding import encode, encode_latents
        from aeclust.nets.models import is_autoencoder, load_model, model_inputs

    model = load_model(paths.model_file(name))
    out = paths.encoded(name)
    if not is_autoencoder(model):
        save_array(out / "latents.npy", encode_latents(model, model_inputs(images, spec)))
        save_json(out / "reconstruction.json", {"mse": None})
        return
    latents, reconstructions, mse = encode(model, model_inputs(images, spec))
    save_array(out / "latents.npy", latents)
    save_array(out / "reconstructions.npy", reconstructions.reshape(images.shape))
    save_json(out / "reconstruction.json", {"mse": mse})


if __name__ == "__main__":
    run_stage("encode", main)
