"""``--backbone hf:PATH``: tiny random CLIP, SigLIP and VideoMAE folders built here, compared with the
Hugging Face model and processor called directly; digests in the store; refusals in one line."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip("transformers")

from hf_models import save_clip, save_siglip, save_videomae, save_xclip  # noqa: E402

from action2vec.cli.main import main  # noqa: E402
from action2vec.errors import Action2VecError, DataError  # noqa: E402
from action2vec.inference import VideoRecipe  # noqa: E402
from action2vec.store import open_store  # noqa: E402
from action2vec.video.backbones import create_backbone  # noqa: E402
from action2vec.video.synthetic import write_video  # noqa: E402

QUIET = ["--compute.workers", "0", "--compute.progress", "false"]


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("hf")
    return {
        "clip": save_clip(root / "clip"),
        "siglip": save_siglip(root / "siglip"),
        "videomae": save_videomae(root / "videomae"),
        "xclip": save_xclip(root / "xclip"),
        "clip_other": save_clip(root / "clip_other", seed=1),
    }


def _frames(n: int, h: int = 40, w: int = 52, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, h, w, 3), dtype=np.uint8)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("kind", ["clip", "siglip"])
def test_image_text_step_is_mean_of_frames_image_features(folders, kind) -> None:
    from transformers import AutoImageProcessor, AutoModel

    backbone = create_backbone(f"hf:{folders[kind]}")
    clips = _frames(2 * backbone.clip_len).reshape(2, backbone.clip_len, 40, 52, 3)
    with torch.no_grad():
        ours = backbone(backbone.preprocess(clips)).numpy()

    # the Hugging Face way, written out: processor on every frame, get_image_features, mean per clip
    processor = AutoImageProcessor.from_pretrained(folders[kind], local_files_only=True)
    model = AutoModel.from_pretrained(folders[kind], local_files_only=True).eval()
    expected = []
    for clip in clips:
        pixels = processor(images=list(clip), return_tensors="pt")["pixel_values"]
        with torch.no_grad():
            out = model.get_image_features(pixel_values=pixels)
        out = out if isinstance(out, torch.Tensor) else out.pooler_output
        expected.append(out.numpy().mean(axis=0))
    assert ours.shape == (2, backbone.dim)
    np.testing.assert_allclose(ours, np.stack(expected), rtol=0, atol=1e-5)


def _videomae_reference(model, pixels: torch.Tensor) -> np.ndarray:
    return model(pixel_values=pixels).last_hidden_state[0].numpy().mean(axis=0)  # mean over (tokens, 32)


def _xclip_reference(model, pixels: torch.Tensor) -> np.ndarray:
    out = model.get_video_features(pixel_values=pixels)
    return (out if isinstance(out, torch.Tensor) else out.pooler_output)[0].numpy()


@pytest.mark.parametrize(
    "kind,model_class,reference",
    [("videomae", "VideoMAEModel", _videomae_reference), ("xclip", "XCLIPModel", _xclip_reference)],
)
def test_video_model_step_is_one_clip_embedding(folders, kind, model_class, reference) -> None:
    import transformers

    backbone = create_backbone(f"hf:{folders[kind]}")
    assert backbone.clip_len == 4  # the model's num_frames
    clips = _frames(8, seed=1).reshape(2, 4, 40, 52, 3)
    with torch.no_grad():
        ours = backbone(backbone.preprocess(clips)).numpy()
    processor = transformers.VideoMAEImageProcessor.from_pretrained(folders[kind], local_files_only=True)
    model = getattr(transformers, model_class).from_pretrained(folders[kind], local_files_only=True).eval()
    expected = []
    for clip in clips:
        pixels = processor(list(clip), return_tensors="pt")["pixel_values"]  # (1, 4, 3, 32, 32)
        with torch.no_grad():
            expected.append(reference(model, pixels))
    np.testing.assert_allclose(ours, np.stack(expected), rtol=0, atol=1e-5)


def test_preprocessing_follows_the_folders_processor_config(folders, tmp_path) -> None:
    """Another mean/std in preprocessor_config.json changes the features: nothing of it is a constant of ours."""
    import json

    changed = tmp_path / "clip_std"
    shutil.copytree(folders["clip"], changed)
    cfg_path = changed / "preprocessor_config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg["image_mean"], cfg["image_std"] = [0.5, 0.5, 0.5], [0.1, 0.1, 0.1]
    cfg_path.write_text(json.dumps(cfg))
    clips = np.full((1, 8, 40, 52, 3), 200, dtype=np.uint8)  # one grey: resizing and cropping keep it
    a, b = create_backbone(f"hf:{folders['clip']}"), create_backbone(f"hf:{changed}")
    x = b.preprocess(clips)
    assert tuple(x.shape) == (1, 8, 3, 32, 32)  # the processor's crop size
    np.testing.assert_allclose(x.numpy(), (200 / 255 - 0.5) / 0.1, rtol=0, atol=1e-5)
    default = a.preprocess(clips)[0, 0, 0].numpy()  # CLIP's own red mean/std in the first folder
    np.testing.assert_allclose(default, (200 / 255 - 0.48145466) / 0.26862954, rtol=0, atol=1e-5)
    with torch.no_grad():
        assert not torch.allclose(a(a.preprocess(clips)), b(x))


def test_missing_or_wrong_folder_is_one_line(folders, tmp_path, capsys) -> None:
    with pytest.raises(DataError, match="not a folder"):
        create_backbone(f"hf:{tmp_path / 'absent'}")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="no config.json"):
        create_backbone(f"hf:{empty}")
    bert = tmp_path / "bert"
    bert.mkdir()
    (bert / "config.json").write_text('{"model_type": "bert"}')
    with pytest.raises(DataError, match="model_type 'bert' is not supported"):
        create_backbone(f"hf:{bert}")
    partial = tmp_path / "partial"  # a CLIP config over weights without the image tower
    shutil.copytree(folders["clip"], partial)
    from safetensors.torch import load_file, save_file

    state = load_file(str(partial / "model.safetensors"))
    save_file(
        {k: v for k, v in state.items() if not k.startswith("vision_model.")},
        str(partial / "model.safetensors"),
        metadata={"format": "pt"},
    )
    with pytest.raises(DataError, match="its weights lack .* tensor"):
        create_backbone(f"hf:{partial}")
    with pytest.raises(Action2VecError, match="leave out --weights"):
        create_backbone(f"hf:{folders['clip']}", weights=folders["clip"] / "model.safetensors")
    with pytest.raises(Action2VecError, match="needs a folder"):
        create_backbone("hf")

    videos = tmp_path / "v"
    videos.mkdir()
    write_video(videos / "a.mp4", _frames(12), fps=12)
    (videos / "list.txt").write_text("a.mp4 spin ball\n")
    capsys.readouterr()
    out = tmp_path / "x.h5"
    assert (
        main(["extract", "--list", str(videos / "list.txt"), "--out", str(out), "--backbone", f"hf:{bert}", *QUIET])
        == 2
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "bert" in err[0] and not out.exists()


def test_store_records_model_digests_and_refuses_another_folder(folders, tmp_path, capsys) -> None:
    videos = tmp_path / "v"
    videos.mkdir()
    for i in range(2):
        write_video(videos / f"{i}.mp4", _frames(18, seed=i), fps=12)
    (videos / "list.txt").write_text("0.mp4 spin ball\n1.mp4 grow box\n")
    out = tmp_path / "clip.h5"
    argv = [
        "extract",
        "--list",
        str(videos / "list.txt"),
        "--out",
        str(out),
        "--video.fps",
        "12",
        "--video.duration",
        "1.5",
        *QUIET,
    ]
    assert main([*argv, "--backbone", f"hf:{folders['clip']}"]) == 0
    meta = open_store(out).meta
    assert meta["backbone"] == f"hf:{folders['clip']}"
    assert meta["hf_model_class"] == "CLIPModel"
    assert meta["weights_sha256"] == _sha256(folders["clip"] / "model.safetensors")
    assert meta["hf_config_sha256"] == _sha256(folders["clip"] / "config.json")
    assert meta["clip_len"] == 8 and "mean of clip frames" in meta["step"]

    # one step = one clip's mean frame embedding, as the backbone computes it from the decoded frames
    from action2vec.video.extract import video_features

    feats, length = video_features(
        videos / "0.mp4", create_backbone(f"hf:{folders['clip']}"), _extract_config(12.0, 1.5)
    )
    stored, stored_len = open_store(out).get(open_store(out).index_of("0.mp4"))
    assert length == stored_len
    np.testing.assert_allclose(stored, feats, rtol=0, atol=1e-6)

    capsys.readouterr()
    assert main([*argv, "--backbone", f"hf:{folders['clip_other']}"]) == 2  # a resume with another folder
    assert "use another --out or the same settings" in capsys.readouterr().err


def _extract_config(fps: float, duration: float):
    from action2vec.video.config import ClipConfig, ExtractConfig

    return ExtractConfig(video=ClipConfig(fps=fps, duration=duration))


def test_new_videos_embed_only_with_the_stores_weights(folders, tmp_path) -> None:
    """The recipe a model records rebuilds hf:PATH and refuses it once that folder holds other weights."""
    copy = tmp_path / "clip"
    shutil.copytree(folders["clip"], copy)
    meta = {**create_backbone(f"hf:{copy}").meta(), "fps": 12.0, "duration": 1.5, "stride": 8}
    recipe = VideoRecipe.from_features(meta)
    assert recipe is not None and not recipe.needs_weights()  # the folder is the weights: no --weights asked
    assert recipe.create_backbone().weights_sha256 == meta["weights_sha256"]
    shutil.copy(folders["clip_other"] / "model.safetensors", copy / "model.safetensors")
    with pytest.raises(DataError, match="not the weights the training store was extracted with"):
        recipe.create_backbone()


def test_a_models_hf_folder_changed_or_moved_is_named_in_the_line(folders, tmp_path) -> None:
    """Embedding new videos through the folder the training store recorded: the line names that folder (not
    'None', as there are no --weights with hf:) and says it comes from the training store's record."""
    copy = tmp_path / "clip"
    shutil.copytree(folders["clip"], copy)
    recipe = VideoRecipe.from_features(
        {**create_backbone(f"hf:{copy}").meta(), "fps": 12.0, "duration": 1.5, "stride": 8}
    )
    shutil.copy(folders["clip_other"] / "model.safetensors", copy / "model.safetensors")
    with pytest.raises(DataError) as err:
        recipe.create_backbone()
    assert str(err.value).startswith(f"hf:{copy}") and "None" not in str(err.value)
    shutil.rmtree(copy)
    with pytest.raises(DataError) as err:
        recipe.create_backbone()
    assert f"hf:{copy}" in str(err.value) and "training store" in str(err.value) and "\n" not in str(err.value)


def test_video_model_clip_length_other_than_its_frames_is_one_line(folders, tmp_path, capsys) -> None:
    """VideoMAE takes exactly its config's num_frames (4 here): --video.clip_len 8 was a traceback mid-run."""
    videos = tmp_path / "v"
    videos.mkdir()
    write_video(videos / "a.mp4", _frames(12), fps=12)
    (videos / "list.txt").write_text("a.mp4 spin ball\n")
    out = tmp_path / "x.h5"
    argv = [
        "extract",
        "--list",
        str(videos / "list.txt"),
        "--out",
        str(out),
        "--backbone",
        f"hf:{folders['videomae']}",
        *QUIET,
    ]
    capsys.readouterr()
    assert main([*argv, "--video.clip_len", "8"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "video.clip_len" in err[0] and "4" in err[0] and not out.exists()
    assert not (tmp_path / "x.h5.log").exists()  # the backbone's loading line must not leave a log of a refused run
    assert main([*argv, "--video.clip_len", "4"]) == 0  # its own length, said explicitly, is fine
