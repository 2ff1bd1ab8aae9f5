"""Step 1 of the pipeline: videos to clip features.

``decode`` streams frames with PyAV at a target fps, ``clips`` turns them into fixed-length clips,
``backbones`` holds the registry of clip models, ``extract`` drives the whole pass into a feature store
and ``pca`` reduces the features (fitted on training videos only).
"""
