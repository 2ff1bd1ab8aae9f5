"""Class names on the t-SNE map never overlap: checked on the drawn text boxes of a crowded map."""

from __future__ import annotations

import numpy as np

from action2vec.reports.plots import CLASS_NAME_GID, UNPLACED_GID, plot_class_map, save_figure


def _crowded(n: int = 101, seed: int = 0) -> tuple[np.ndarray, list[str]]:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((8, 2)) * 4
    xy = centres[rng.integers(0, 8, n)] + 0.4 * rng.standard_normal((n, 2))
    names = [
        f"{w}{'Indoor' if i % 5 == 0 else ''}{i}"
        for i, w in enumerate(rng.choice(["PlayingViolin", "ApplyEyeMakeup", "JumpRope", "Swing", "HorseRiding"], n))
    ]
    return xy, names


def test_no_two_class_names_overlap_and_every_name_is_shown(tmp_path):
    xy, names = _crowded()
    fig = plot_class_map(np.zeros((len(names), 3)), names, xy=xy, groups=[n[:4] for n in names])
    save_figure(fig, tmp_path / "tsne", formats=("png",))
    renderer = fig.canvas.get_renderer()
    texts = [t for t in fig.findobj() if getattr(t, "get_gid", lambda: None)() == CLASS_NAME_GID]
    boxes = [t.get_window_extent(renderer) for t in texts]
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            a, b = boxes[i], boxes[j]
            assert a.x1 <= b.x0 or b.x1 <= a.x0 or a.y1 <= b.y0 or b.y1 <= a.y0, (
                texts[i].get_text(),
                texts[j].get_text(),
            )
    placed = {t.get_text() for t in texts}
    listed = [t.get_text() for t in fig.findobj() if getattr(t, "get_gid", lambda: None)() == UNPLACED_GID]
    missing = set(names) - placed
    assert len(placed) == len(texts) and len(placed) > len(names) // 2
    if missing:
        assert len(listed) == 1 and all(n in listed[0] for n in missing)
    else:
        assert not listed
    ax = fig.axes[0].get_window_extent(renderer)
    assert all(ax.x0 <= b.x0 and b.x1 <= ax.x1 and ax.y0 <= b.y0 and b.y1 <= ax.y1 for b in boxes)
