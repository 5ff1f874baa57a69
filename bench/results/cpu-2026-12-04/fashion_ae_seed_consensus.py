"""Consensus over autoencoder seeds: (a) concatenated latents -> UMAP+GMM, (b) vote of the seeds' partitions."""
import json, sys, os
import numpy as np
from aeclust.config import load_params
from aeclust.sources import load_source
from aeclust.storage import load_array
from aeclust.clustering import label_scores
from aeclust.data import stratified_sample
from aeclust.manifold import cluster_embedding, embed, consensus, agreement

seeds = [int(s) for s in sys.argv[1].split(",")]
params = load_params("params.yaml"); spec = params.methods.manifold
_, labels = load_source("idx:../shared/data/fashion-mnist")
lats, parts = [], []
for s in seeds:
    idx = stratified_sample(labels, None, s)
    lat = load_array(f"/tmp/flat/dae_seed{s}.npy")
    orig = np.empty_like(lat); orig[idx] = lat
    lats.append(orig)
    path = f"/tmp/fx/emb_s{s}_r{s}.npy"
    emb = np.load(path) if os.path.exists(path) else embed(lat, spec, s)
    np.save(path, emb)
    ids, _ = cluster_embedding(emb, "gmm", 10, s, spec.n_init)
    o = np.empty_like(ids); o[idx] = ids
    parts.append(o)
    print("seed", s, json.dumps(label_scores(o, labels)), flush=True)
out = {"seeds": seeds, "single": [label_scores(p, labels) for p in parts]}
for how in ("vote", "medoid"):
    ids, m = consensus(parts, how, 10)
    out[how] = label_scores(ids, labels); print(how, m, json.dumps(out[how]), flush=True)
out["agreement"] = agreement(parts).tolist()
cat = np.concatenate([(l - l.mean(0)) / l.std() for l in lats], axis=1)
emb = embed(cat, spec, seeds[0])
ids, _ = cluster_embedding(emb, "gmm", 10, seeds[0], spec.n_init)
out["concat"] = label_scores(ids, labels); print("concat", json.dumps(out["concat"]), flush=True)
json.dump(out, open(f"/tmp/fx/ensemble_{'_'.join(map(str, seeds))}.json", "w"), indent=1)
