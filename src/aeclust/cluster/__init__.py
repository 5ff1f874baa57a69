"""Clustering the latents: KMeans, DEC/IDEC, N2D (UMAP + mixture), and the scores."""
