"""Decoding: timestamp resampling (CFR, VFR), cutting, rotation, early resize, and every kind of bad file."""

from __future__ import annotations

import math
import sys
import types
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from action2vec.video.decode import DecodeError, decode_video, output_size, probe_video
from action2vec.video.synthetic import frame_levels, level_frames, write_video

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "videos"


def expected_sources(times: list[Fraction], end: Fraction, fps: int) -> list[int]:
    """Naive reference: for every output time k/fps < end, the last source frame shown at or before it."""
    out = []
    k = 0
    while Fraction(k, fps) < end:
        t = Fraction(k, fps)
        out.append(max(i for i, s in enumerate(times) if s <= t))
        k += 1
    return out


def test_25fps_avi_resampled_to_30fps_by_timestamps(tmp_path: Path) -> None:
    path = write_video(tmp_path / "a.avi", level_frames(40, 48, 64), fps=25, codec="mpeg4")
    d = decode_video(path, fps=30)
    times = [Fraction(i, 25) for i in range(40)]
    want = expected_sources(times, Fraction(40, 25), 30)
    assert d.num_frames == len(want) == math.ceil(40 / 25 * 30) == 48
    assert frame_levels(d.frames).tolist() == [w % 18 for w in want]
    assert d.source["codec"] == "mpeg4" and d.source["native_fps"] == 25.0 and d.source["frames_decoded"] == 40


def test_h264_mp4_cut_at_max_frames_stops_decoding_early(tmp_path: Path) -> None:
    path = write_video(tmp_path / "long.mp4", level_frames(300, 32, 32), fps=60)
    d = decode_video(path, fps=30, max_frames=45)
    assert d.num_frames == 45 and d.source["truncated_at_max"]
    assert frame_levels(d.frames).tolist() == [(2 * k) % 18 for k in range(45)]
    # 45 output frames at 30 fps need 1.5 s of a 60 fps video: about 90 of its 300 frames are decoded
    assert d.source["frames_decoded"] <= 100


def test_variable_frame_rate_follows_presentation_times(tmp_path: Path) -> None:
    gaps_ms = [20] * 15 + [100] * 14  # 50 fps, then 10 fps
    ms = np.concatenate([[0], np.cumsum(gaps_ms)])
    path = write_video(tmp_path / "vfr.mp4", level_frames(30, 48, 64), times=(ms / 1000).tolist())
    d = decode_video(path, fps=30)
    times = [Fraction(int(m), 1000) for m in ms]
    want = expected_sources(times, times[-1], 30)  # every output time up to the last frame's start
    got = frame_levels(d.frames).tolist()
    assert got[: len(want)] == [w % 18 for w in want]
    assert len(want) <= d.num_frames <= len(want) + 4  # the last frame lasts one frame duration


def test_rotation_metadata_turns_frames_upright(tmp_path: Path) -> None:
    frames = level_frames(6, 48, 64)  # red mark at the top-left
    path = write_video(tmp_path / "rot.mp4", frames, rotation=90)
    d = decode_video(path, fps=30)
    assert d.source["rotation"] == -90  # FFmpeg's counter-clockwise angle of a 90° clockwise display
    assert d.frames.shape[1:] == (64, 48, 3)
    red = d.frames[0, :, :, 0].astype(int) - d.frames[0, :, :, 1].astype(int)
    assert red[:10, -10:].mean() > 150 and red[-10:, :10].mean() < 50  # the mark is now top-right
    assert d.frames[0].shape == np.rot90(frames[0], k=-1).shape


def test_early_resize_and_short_side() -> None:
    assert output_size(340, 256, 0, (128, 171), None) == (128, 171)
    assert output_size(340, 256, 0, None, 128) == (128, 170)
    assert output_size(1920, 1080, -90, None, 256) == (455, 256)  # portrait after rotation
    assert output_size(64, 48, 0, None, None) == (48, 64)


def test_decode_resizes_in_the_scaler(tmp_path: Path) -> None:
    path = write_video(tmp_path / "s.mp4", level_frames(5, 96, 128), fps=30)
    assert decode_video(path, size=(32, 40)).frames.shape == (5, 32, 40, 3)
    assert decode_video(path, short_side=48).frames.shape == (5, 48, 64, 3)


def test_video_shorter_than_one_clip(tmp_path: Path) -> None:
    path = write_video(tmp_path / "tiny.mp4", level_frames(3, 32, 32), fps=30)
    d = decode_video(path, fps=30, max_frames=420)
    assert d.num_frames == 3 and not d.source["truncated_at_max"]


@pytest.mark.parametrize(
    "name, content, reason",
    [
        ("empty.mp4", b"", "empty file"),
        ("noise.mp4", bytes(np.random.default_rng(0).integers(0, 256, 20000, dtype=np.uint8)), "cannot open"),
        ("notes.avi", b"this is a text file, not a video\n" * 50, "cannot open"),
    ],
)
def test_unreadable_files_raise_decode_error(tmp_path: Path, name: str, content: bytes, reason: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DecodeError, match=reason):
        decode_video(path)


def test_still_image_is_not_a_video(tmp_path: Path) -> None:
    import av

    path = tmp_path / "photo.png"
    with av.open(str(path), "w", format="image2") as c:
        s = c.add_stream("png")
        s.width, s.height, s.pix_fmt = 16, 16, "rgb24"
        for p in s.encode(av.VideoFrame.from_ndarray(np.zeros((16, 16, 3), np.uint8), format="rgb24")):
            c.mux(p)
        for p in s.encode():
            c.mux(p)
    with pytest.raises(DecodeError, match="still image"):
        decode_video(path)


def test_truncated_mp4_and_missing_file(tmp_path: Path) -> None:
    good = write_video(tmp_path / "good.mp4", level_frames(60, 64, 64), fps=30)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(DecodeError):
        decode_video(cut)
    with pytest.raises(DecodeError, match="not found"):
        decode_video(tmp_path / "nope.mp4")


def test_audio_only_file_is_not_a_video(tmp_path: Path) -> None:
    import av

    path = tmp_path / "sound.wav"
    with av.open(str(path), "w") as c:
        s = c.add_stream("pcm_s16le", rate=8000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 800), np.int16), format="s16", layout="mono")
        frame.sample_rate = 8000
        for p in s.encode(frame):
            c.mux(p)
        for p in s.encode():
            c.mux(p)
    with pytest.raises(DecodeError, match="no video stream"):
        decode_video(path)


@pytest.mark.parametrize(
    "name, native_frames, native_fps",
    [("mmaction2_test.avi", 164, 25), ("mmaction2_demo.mp4", 280, 28), ("mmaction2_test.mp4", 300, 30)],
)
def test_real_clips_frame_arithmetic(name: str, native_frames: int, native_fps: int) -> None:
    path = REAL / name
    if not path.is_file():
        pytest.skip(f"{path} not available")
    info = probe_video(path)
    assert info["native_fps"] == native_fps and info["container_frames"] == native_frames
    d = decode_video(path, fps=30, max_frames=420, size=(128, 171))
    assert d.num_frames == math.ceil(Fraction(native_frames, native_fps) * 30)  # 197, 300, 300
    assert d.frames.shape[1:] == (128, 171, 3) and d.frames.dtype == np.uint8
    assert d.frames.std() > 5  # real picture content, not blank frames


def _install_fake_torchcodec(monkeypatch: pytest.MonkeyPatch, decoder: type, tmp_path: Path) -> Path:
    """Make ``torchcodec.decoders.VideoDecoder`` import as ``decoder``; return a real video's path (the file is
    checked to be a video before torchcodec sees it; the stand-in decoder ignores its content)."""
    module = types.ModuleType("torchcodec.decoders")
    module.VideoDecoder = decoder  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "torchcodec", types.ModuleType("torchcodec"))
    monkeypatch.setitem(sys.modules, "torchcodec.decoders", module)
    return write_video(tmp_path / "any.mp4", level_frames(2, 16, 16), fps=10)


def test_torchcodec_path_requests_frames_at_k_over_fps(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The torchcodec decoder (not installed here) driven through a stand-in with torchcodec's API."""

    import torch

    asked: list[float] = []

    class FakeDecoder:
        def __init__(self, source: str, dimension_order: str, num_ffmpeg_threads: int) -> None:
            assert dimension_order == "NHWC"
            self.metadata = types.SimpleNamespace(
                begin_stream_seconds=0.0,
                end_stream_seconds=1.0,
                duration_seconds=1.0,
                average_fps=25.0,
                width=80,
                height=40,
                codec="h264",
            )

        def get_frames_played_at(self, seconds: list[float]):  # type: ignore[no-untyped-def]
            asked.extend(seconds)
            data = torch.stack([torch.full((40, 80, 3), int(s * 100), dtype=torch.uint8) for s in seconds])
            return types.SimpleNamespace(data=data)

    path = _install_fake_torchcodec(monkeypatch, FakeDecoder, tmp_path)
    d = decode_video(path, fps=30, max_frames=20, short_side=20, decoder="torchcodec")
    assert asked == pytest.approx([k / 30 for k in range(20)])
    assert d.frames.shape == (20, 20, 40, 3) and d.source["decoder"] == "torchcodec"
    assert d.frames[7].mean() == pytest.approx(int(7 / 30 * 100), abs=1)
    assert decode_video(path, fps=30, decoder="torchcodec").num_frames == 30  # 1 s at 30 fps


def _naive_decode(path: Path, fps: int, max_frames: int, size: tuple[int, int]) -> np.ndarray:
    """Reference: every frame's time from PyAV (a frame whose time does not increase is dropped), the last
    frame shown at or before k / fps (the final frame lasting its duration), each converted on its own
    with PyAV's per-frame ``to_ndarray`` resize."""
    import av

    with av.open(str(path)) as c:
        decoded = list(c.decode(video=0))
    frames = [f for i, f in enumerate(decoded) if all(f.pts > g.pts for g in decoded[:i])]
    times = [Fraction(f.pts) * f.time_base for f in frames]
    times = [t - times[0] for t in times]
    end = times[-1] + Fraction(frames[-1].duration) * frames[-1].time_base
    picks = expected_sources(times, end, fps)[:max_frames]
    h, w = size
    return np.stack([frames[i].to_ndarray(format="rgb24", width=w, height=h, interpolation="BILINEAR") for i in picks])


@pytest.mark.parametrize("kind", ["avi25", "mp4_60", "vfr"])
def test_decoding_equals_a_naive_frame_by_frame_reference(tmp_path: Path, kind: str) -> None:
    """One reused scaler, integer timestamp arithmetic and the preallocated buffer change no pixel."""
    rng = np.random.default_rng(1)
    frames = level_frames(45, 72, 96)
    frames[..., 1] = rng.integers(0, 255, frames.shape[:3], dtype=np.uint8)
    if kind == "avi25":
        path = write_video(tmp_path / "a.avi", frames, fps=25, codec="mpeg4")
    elif kind == "mp4_60":
        path = write_video(tmp_path / "b.mp4", frames, fps=60)
    else:
        ms = np.concatenate([[0], np.cumsum([20] * 20 + [70] * 24)])
        path = write_video(tmp_path / "c.mp4", frames, times=(ms / 1000).tolist())
    got = decode_video(path, fps=30, max_frames=40, size=(40, 53), threads=1).frames
    want = _naive_decode(path, 30, 40, (40, 53))
    assert got.shape == want.shape and np.array_equal(got, want)


def test_real_clips_equal_the_naive_reference(shared_data: Path) -> None:
    for name in ("mmaction2_test.avi", "mmaction2_demo.mp4"):
        path = shared_data / "videos" / name
        got = decode_video(path, fps=30, max_frames=420, size=(128, 171)).frames
        assert np.array_equal(got, _naive_decode(path, 30, 420, (128, 171)))


def test_frames_go_into_the_buffer_the_caller_allocates(tmp_path: Path) -> None:
    path = write_video(tmp_path / "a.mp4", level_frames(12, 32, 32), fps=30)
    buffers: list[np.ndarray] = []

    def allocate(shape: tuple[int, ...]) -> np.ndarray:
        buffers.append(np.full(shape, 7, np.uint8))
        return buffers[-1]

    d = decode_video(path, fps=30, max_frames=20, allocate=allocate)
    assert len(buffers) == 1 and buffers[0].shape == (20, 32, 32, 3)  # max_frames frames, allocated once
    assert d.num_frames == 12 and np.shares_memory(d.frames, buffers[0]) and (buffers[0][12:] == 7).all()
    grown = decode_video(path, fps=30, allocate=allocate)  # no max_frames: a guess, grown when short
    assert grown.num_frames == 12 and np.array_equal(grown.frames, d.frames)


def _faststart(tmp_path: Path, n: int = 150) -> Path:
    rng = np.random.default_rng(0)
    frames = level_frames(n, 96, 128)
    frames[..., 1] = rng.integers(0, 255, frames.shape[:3], dtype=np.uint8)
    return write_video(tmp_path / "web.mp4", frames, fps=30, faststart=True)


def test_truncated_faststart_mp4_is_a_decode_error_naming_the_frames(tmp_path: Path) -> None:
    """A download cut at 40 %: the index (at the front) declares 150 frames, the data holds far fewer."""
    whole = _faststart(tmp_path)
    data = whole.read_bytes()
    assert data.find(b"moov") < data.find(b"mdat")  # index first
    cut = tmp_path / "cut40.mp4"
    cut.write_bytes(data[: int(0.4 * len(data))])
    with pytest.raises(DecodeError, match=r"truncated: the container declares 150 frames, only \d+ could be decoded"):
        decode_video(cut, fps=30, max_frames=420)
    assert decode_video(whole, fps=30, max_frames=420).num_frames == 150
    # a cut-off file whose missing part lies beyond the frames extraction needs is not refused
    assert decode_video(cut, fps=30, max_frames=10).num_frames == 10


def test_short_vfr_rotated_and_real_videos_are_not_flagged(tmp_path: Path, shared_data: Path) -> None:
    ms = np.concatenate([[0], np.cumsum([20] * 15 + [100] * 14)])
    odd = [
        write_video(tmp_path / "vfr.mp4", level_frames(30, 48, 64), times=(ms / 1000).tolist()),
        write_video(tmp_path / "tiny.mp4", level_frames(3, 32, 32), fps=30),
        write_video(tmp_path / "rot.mp4", level_frames(6, 48, 64), rotation=90),
        write_video(tmp_path / "a.avi", level_frames(40, 48, 64), fps=25, codec="mpeg4"),
        _faststart(tmp_path, 30),
    ]
    for path in odd + sorted((shared_data / "videos").iterdir()):
        d = decode_video(path, fps=30)  # the whole video: the completeness check runs
        assert d.source["frames_decoded"] >= 0.95 * d.source["container_frames"], path


def test_torchcodec_cuda_asks_for_the_gpu_and_keeps_frames_a_tensor(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """torchcodec-cuda (no GPU here) through a stand-in: the decoder is opened on this rank's GPU, frames stay a
    tensor."""

    import torch

    opened: dict[str, object] = {}

    class FakeDecoder:
        def __init__(self, source: str, dimension_order: str, num_ffmpeg_threads: int, device: str = "cpu") -> None:
            opened["device"] = device
            self.metadata = types.SimpleNamespace(
                begin_stream_seconds=0.0,
                end_stream_seconds=0.5,
                duration_seconds=0.5,
                average_fps=30.0,
                width=64,
                height=32,
                codec="h264",
            )

        def get_frames_played_at(self, seconds: list[float]):  # type: ignore[no-untyped-def]
            return types.SimpleNamespace(data=torch.zeros((len(seconds), 32, 64, 3), dtype=torch.uint8))

    path = _install_fake_torchcodec(monkeypatch, FakeDecoder, tmp_path)
    d = decode_video(path, fps=30, size=(16, 32), decoder="torchcodec-cuda")
    assert opened["device"] == "cuda:0" and isinstance(d.frames, torch.Tensor)
    monkeypatch.setenv("LOCAL_RANK", "3")  # a torchrun rank decodes on its own GPU
    decode_video(path, fps=30, size=(16, 32), decoder="torchcodec-cuda")
    assert opened["device"] == "cuda:3"
    assert tuple(d.frames.shape) == (15, 16, 32, 3) and d.source["decoder"] == "torchcodec-cuda"
