"""Per-run ACC of R seeded UMAP+GMM runs on one seed's Fashion latents; vote/medoid."""
import json, sys, time
import numpy as np
from aeclust.config import load_params
from aeclust.sources import load_source
from aeclust.storage import load_array
from aeclust.clustering import label_scores
from aeclust.data import stratified_sample
import os
from aeclust.manifold import cluster_embedding, embed, run_seeds, consensus, agreement

seed, R = int(sys.argv[1]), int(sys.argv[2])
params = load_params("params.yaml")
spec = params.methods.manifold
_, labels = load_source("idx:../shared/data/fashion-mnist")
labels = labels[stratified_sample(labels, None, seed)]
lat = load_array(f"/tmp/flat/dae_seed{seed}.npy")
parts, out = [], {"seed": seed, "runs": []}
for rs in run_seeds(seed, R):
    t = time.perf_counter()
    path = f"/tmp/fx/emb_s{seed}_r{rs}.npy"
    emb = np.load(path) if os.path.exists(path) else embed(lat, spec, rs)
    ids, _ = cluster_embedding(emb, "gmm", 10, rs, spec.n_init)
    np.save(f"/tmp/fx/emb_s{seed}_r{rs}.npy", emb)
    parts.append(ids)
    sc = label_scores(ids, labels)
    sc["run_seed"], sc["seconds"] = rs, time.perf_counter() - t
    out["runs"].append(sc)
    print(json.dumps(sc), flush=True)
for how in ("vote", "medoid"):
    ids, m = consensus(parts, how, 10)
    out[how] = label_scores(ids, labels); out[how]["medoid"] = m
    print(how, json.dumps(out[how]), flush=True)
out["agreement"] = agreement(parts).tolist()
json.dump(out, open(f"/tmp/fx/explore_s{seed}.json", "w"), indent=1)
