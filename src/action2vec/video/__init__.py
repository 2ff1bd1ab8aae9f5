"""Step 1 of the pipeline: videos to clip features (step 2, their PCA, is :mod:`action2vec.store.pca`).

- ``decode``: streaming PyAV decoding resampled to a target fps by timestamps, rotation, early resize
- ``clips``: clip arithmetic (frames, steps, true length) and zero-padded strided clip views
- ``backbones``: the registry of clip models (C3D, torchvision's video models, weight-free ``motion``)
- ``extract``: the resumable, batched, multi-process and torchrun-aware extraction into a feature store
- ``config``: the ``video.*`` and ``compute.*`` settings; ``synthetic``: small test videos of any kind
"""
