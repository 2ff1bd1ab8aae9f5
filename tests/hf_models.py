"""Tiny random Hugging Face model folders for the hf: tests, built from configs in seconds (nothing downloaded).

Each ``save_*`` writes a ``save_pretrained`` folder: the model (hidden size 32, 2 layers, 32-pixel images),
its image processor config and, for the image–text models, a word-level tokenizer trained here with the
``tokenizers`` library on the words the tests embed.
"""

from __future__ import annotations

from pathlib import Path

import torch

SMALL = dict(hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=4)
WORDS = (
    "a video of a person spin grow slide ball box ring play violin ride bike the an his her "
    "apply eye makeup clean pool jump photo doing"
).split()


def _tokenizer(folder: Path) -> int:
    """A word-level tokenizer ([PAD]=0, [UNK]=1, [BOS]=2, [EOS]=3, then WORDS) saved into ``folder``;
    returns the vocabulary size."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = {"[PAD]": 0, "[UNK]": 1, "[BOS]": 2, "[EOS]": 3}
    for w in dict.fromkeys(WORDS):
        vocab[w] = len(vocab)
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.post_processor = processors.TemplateProcessing(
        single="[BOS] $A [EOS]", special_tokens=[("[BOS]", 2), ("[EOS]", 3)]
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        pad_token="[PAD]",
        unk_token="[UNK]",
        bos_token="[BOS]",
        eos_token="[EOS]",
        model_max_length=16,
    )
    fast.save_pretrained(str(folder))
    return len(vocab)


def _text_config(vocab: int) -> dict:
    return dict(**SMALL, vocab_size=vocab, max_position_embeddings=16, pad_token_id=0, bos_token_id=2, eos_token_id=3)


def save_clip(folder: Path, seed: int = 0) -> Path:
    """A tiny CLIPModel (projection 16) with a CLIP image processor (short side 32, centre crop 32)."""
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel

    folder.mkdir(parents=True, exist_ok=True)
    vocab = _tokenizer(folder)
    torch.manual_seed(seed)
    cfg = CLIPConfig(
        text_config=_text_config(vocab), vision_config=dict(**SMALL, image_size=32, patch_size=8), projection_dim=16
    )
    CLIPModel(cfg).eval().save_pretrained(str(folder))
    CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}).save_pretrained(str(folder))
    return folder


def save_siglip(folder: Path, seed: int = 0) -> Path:
    """A tiny SiglipModel with a SigLIP image processor (resize to 32x32, mean/std 0.5)."""
    from transformers import SiglipConfig, SiglipImageProcessor, SiglipModel

    folder.mkdir(parents=True, exist_ok=True)
    vocab = _tokenizer(folder)
    torch.manual_seed(seed)
    cfg = SiglipConfig(text_config=_text_config(vocab), vision_config=dict(**SMALL, image_size=32, patch_size=8))
    SiglipModel(cfg).eval().save_pretrained(str(folder))
    SiglipImageProcessor(size={"height": 32, "width": 32}).save_pretrained(str(folder))
    return folder


def save_videomae(folder: Path, seed: int = 0) -> Path:
    """A tiny VideoMAEModel taking 4-frame clips (tubelets of 2) with a VideoMAE image processor."""
    from transformers import VideoMAEConfig, VideoMAEImageProcessor, VideoMAEModel

    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    cfg = VideoMAEConfig(**SMALL, image_size=32, patch_size=8, num_frames=4, tubelet_size=2)
    VideoMAEModel(cfg).eval().save_pretrained(str(folder))
    VideoMAEImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}).save_pretrained(
        str(folder)
    )
    return folder


def save_xclip(folder: Path, seed: int = 0) -> Path:
    """A tiny XCLIPModel taking 4-frame clips, with the VideoMAE image processor X-CLIP folders carry."""
    from transformers import VideoMAEImageProcessor, XCLIPConfig, XCLIPModel

    folder.mkdir(parents=True, exist_ok=True)
    vocab = _tokenizer(folder)
    torch.manual_seed(seed)
    vision = dict(
        **SMALL,
        image_size=32,
        patch_size=8,
        num_frames=4,
        mit_hidden_size=32,
        mit_intermediate_size=37,
        mit_num_hidden_layers=1,
        mit_num_attention_heads=4,
    )
    cfg = XCLIPConfig(
        text_config=_text_config(vocab),
        vision_config=vision,
        projection_dim=32,
        prompt_num_attention_heads=4,
        prompt_layers=1,
    )
    XCLIPModel(cfg).eval().save_pretrained(str(folder))
    VideoMAEImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}).save_pretrained(
        str(folder)
    )
    return folder
