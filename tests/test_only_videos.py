"""Only videos are videos: text, subtitles, audio and still images are 'not a video (format X)' wherever a file
becomes frames (decoding, probing, extraction, the encoder's file path)."""

from __future__ import annotations

import wave
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from action2vec.cli.main import main
from action2vec.store import open_store
from action2vec.video.decode import DecodeError, decode_video, probe_video
from action2vec.video.synthetic import level_frames, write_video


def _non_videos(folder: Path) -> dict[str, str]:
    """Real files of each kind -> the demuxer FFmpeg picks for them."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "notes.txt").write_text("Notes on the dataset: which videos to keep and why.\n" * 40)
    (folder / "readme.nfo").write_text("RELEASE INFO\n" * 80)
    (folder / "talk.srt").write_text(
        "1\n00:00:01,000 --> 00:00:02,500\nHello there.\n\n2\n00:00:03,000 --> 00:00:04,000\nGoodbye.\n\n"
    )
    with wave.open(str(folder / "sound.wav"), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(np.zeros(8000, np.int16).tobytes())
    Image.fromarray(np.full((32, 48, 3), 200, np.uint8)).save(folder / "photo.png")
    return {"notes.txt": "tty", "readme.nfo": "tty", "talk.srt": "srt", "sound.wav": "wav", "photo.png": "png_pipe"}


def test_text_subtitles_audio_and_images_are_not_videos(tmp_path):
    for name, fmt in _non_videos(tmp_path).items():
        for read in (decode_video, probe_video):
            with pytest.raises(DecodeError) as info:
                read(tmp_path / name)
            assert str(info.value).startswith(f"not a video (format {fmt}"), (name, str(info.value))
    # a real video still is one
    video = write_video(tmp_path / "v.mp4", level_frames(8, 32, 32), fps=10)
    assert decode_video(video, fps=10).num_frames == 8 and probe_video(video)["codec"] == "h264"


def test_audio_with_cover_art_is_not_a_video():
    """An MP3 or M4A with album art holds a video stream marked as an attached picture (built by hand here: the
    muxers PyAV can write drop it)."""
    import av

    from action2vec.video.decode import check_container

    def stream(kind: str, disposition: int) -> SimpleNamespace:
        return SimpleNamespace(type=kind, disposition=disposition)

    cover = stream("video", av.stream.Disposition.attached_pic)
    song = SimpleNamespace(format=SimpleNamespace(name="mp3"), streams=_Streams([stream("audio", 1), cover]))
    with pytest.raises(DecodeError, match=r"not a video \(format mp3: no video stream, only audio, video"):
        check_container(song)
    clip = SimpleNamespace(
        format=SimpleNamespace(name="mov,mp4,m4a,3gp,3g2,mj2"),
        streams=_Streams([stream("audio", 1), stream("video", 1)]),
    )
    assert check_container(clip) is clip.streams.video[0]


class _Streams(list):
    """A container's streams as PyAV shows them: iterable, with ``.video``."""

    @property
    def video(self) -> list:
        return [s for s in self if s.type == "video"]


def test_extract_records_a_text_file_as_failed_and_skips_it(tmp_path, capsys):
    others = _non_videos(tmp_path / "other")
    video = write_video(tmp_path / "v.mp4", level_frames(24, 48, 64), fps=12)
    lines = [f"{video}\tjump"] + [f"{tmp_path / 'other' / name}\tjump" for name in others]
    (tmp_path / "list.txt").write_text("\n".join(lines) + "\n")
    out = tmp_path / "s.h5"
    assert (
        main(
            [
                "extract",
                "--list",
                str(tmp_path / "list.txt"),
                "--backbone",
                "c3d-tiny",
                "--random-weights",
                "--video.duration",
                "1",
                "--compute.workers",
                "0",
                "--compute.progress",
                "false",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    store = open_store(out)
    assert len(store) == 1 and store.keys[0].endswith("v.mp4")
    failures = {Path(k).name: why for k, why in store.failures.items()}
    assert set(failures) == set(others)
    for name, fmt in others.items():
        assert failures[name].startswith(f"not a video (format {fmt}"), failures[name]


def test_the_encoders_file_path_refuses_a_text_file(tmp_path):
    from action2vec.video.backbones import create_backbone
    from action2vec.video.extract import video_features

    notes = tmp_path / "notes.txt"
    notes.write_text("a line of notes, long enough for FFmpeg to call it a teletype\n" * 40)
    backbone = create_backbone("c3d-tiny", random_weights=True)
    with pytest.raises(DecodeError, match=r"not a video \(format tty"):
        video_features(notes, backbone)
