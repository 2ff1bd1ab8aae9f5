"""Moved to :mod:`action2vec.store.pca` (the PCA works on stores); this name stays importable for code written
against it."""

from action2vec.store.pca import PCA, ProjectedStore, ScatterAccumulator, fit_keys_of_subset, fit_pca, pca_store

__all__ = ["PCA", "ScatterAccumulator", "ProjectedStore", "fit_pca", "pca_store", "fit_keys_of_subset"]
