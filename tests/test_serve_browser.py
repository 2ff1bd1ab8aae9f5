"""The explorer page in a real headless Chromium (Debian's ``chromium``, driven by Playwright): the server runs
on the demo's own model (``action2vec demo --size quick``, made once per module), whose videos lie close to their
class means, and the page's search, analogy, map and upload show what the model says.

Skips, saying why, where Playwright or Chromium is missing (`.ci/run` installs Chromium; never
`playwright install`: the browser is the system's)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("fastapi", reason="the explorer needs the serve extra: pip install -e '.[serve]'")
sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (pip install -e '.[dev]')")

from action2vec.serve import Explorer, ServeSettings, explorer_paths  # noqa: E402
from action2vec.serve.app import create_app  # noqa: E402
from action2vec.serve.server import allowed_hosts, bind, serve_in_thread  # noqa: E402

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
UPLOAD_MB = 1.0


def _chromium() -> str:
    for candidate in (
        os.environ.get("ACTION2VEC_CHROMIUM"),
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
        "/usr/bin/chromium",
    ):
        if candidate and Path(candidate).is_file():
            return candidate
    pytest.skip("no Chromium browser found (Debian: apt-get install chromium; or set ACTION2VEC_CHROMIUM)")


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory) -> Path:
    """The demo at its quick size (18 classes, 72 videos): the model the explorer serves after `action2vec demo`."""
    from action2vec.experiments.demo import demo_config, run_demo

    out = tmp_path_factory.mktemp("demo_quick")
    run_demo(out, demo_config("quick"))
    return out


@pytest.fixture(scope="module")
def explorer(demo_run):
    explorer = Explorer.open(explorer_paths(demo_run), ServeSettings(max_upload_mb=UPLOAD_MB))
    yield explorer
    explorer.close()


@pytest.fixture(scope="module")
def url(explorer):
    sock = bind("127.0.0.1", 0)
    with serve_in_thread(create_app(explorer, allowed_hosts(sock)), sock) as url:
        yield url


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    executable = _chromium()
    with sync_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=executable,
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": 1400, "height": 1000},
        )
        yield context
        context.close()


@pytest.fixture
def page(browser, url):
    """The loaded page; afterwards: no script error, and no request left the server."""
    page = browser.new_page()
    errors: list[str] = []
    requests: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("request", lambda request: requests.append(request.url))
    page.goto(url)
    page.wait_for_selector("body[data-ready='1']", timeout=60_000)
    yield page
    page.close()
    assert errors == []
    assert [r for r in requests if not r.startswith(url) and not r.startswith("data:")] == []


def _texts(page, selector: str) -> list[str]:
    return page.locator(selector).all_inner_texts()


def test_a_query_shows_the_nearest_classes_and_videos_with_previews(page, explorer):
    want = explorer.search_text("spin ball", 10)
    page.fill("#search-q", "spin ball")
    page.press("#search-q", "Enter")
    page.wait_for_selector("#search-classes li")
    assert _texts(page, "#search-classes li .name") == [c.class_ for c in want.classes]
    keys = page.locator("#search-videos .video").evaluate_all("cards => cards.map(c => c.dataset.key)")
    assert keys == [v.key for v in want.videos]
    page.wait_for_function(
        "() => [...document.querySelectorAll('#search-videos img')].every(i => i.complete && i.naturalWidth > 0)",
        timeout=60_000,
    )
    assert page.locator("#search-videos img").count() == len(want.videos)  # every video is on disk
    # an empty query is a message on the page, not a broken page
    page.fill("#search-q", "   ")
    page.press("#search-q", "Enter")
    page.wait_for_selector("#search-error:not([hidden])")
    assert "the query is empty" in page.inner_text("#search-error")
    assert page.locator("#search-results").is_hidden()


def test_an_analogy_shows_the_nearest_classes(page, explorer):
    want = explorer.analogy("spin ball", "ball", "box", 5)
    for term, text in zip("abc", ("spin ball", "ball", "box")):
        page.fill(f"#analogy-{term}", text)
    page.click("#analogy-form button")
    page.wait_for_selector("#analogy-classes li")
    assert _texts(page, "#analogy-classes li .name") == [c.class_ for c in want.classes]
    assert _texts(page, "#analogy-classes li .name")[0] == "spin box"
    assert "(class mean)" in page.inner_text("#analogy-terms") and "(text)" in page.inner_text("#analogy-terms")
    page.fill("#analogy-c", "")
    page.click("#analogy-form button")
    page.wait_for_selector("#analogy-error:not([hidden])")
    assert "term C is empty" in page.inner_text("#analogy-error")


def test_every_video_of_the_demo_map_can_be_hovered_and_clicked(page, explorer, tmp_path):
    """Issue 19: on the demo's model the videos lay within 5 px of their class mean, drawn under it. Now every
    dot is the topmost element at its centre, no two video dots are within a few pixels, each class is named or
    named on hover, and the page says how many points it shows."""
    videos = [p for p in explorer.map if p.kind == "video"]
    classes = [p for p in explorer.map if p.kind == "class"]
    assert len(videos) == len(explorer.index) and len(classes) == len(explorer.space.classes)
    page.locator("#map").scroll_into_view_if_needed()
    page.screenshot(path=str(tmp_path / "map.png"), full_page=True)
    centres = page.locator("#map circle").evaluate_all(
        "cs => cs.map(c => { const b = c.getBoundingClientRect(); const x = b.left + b.width / 2, "
        "y = b.top + b.height / 2; const top = document.elementFromPoint(x, y); "
        "return [c.dataset.kind, c.dataset.name, x, y, top === c]; })"
    )
    assert [c for c in centres if not c[4]] == []  # nothing covers any dot's centre
    xy = np.array([[c[2], c[3]] for c in centres if c[0] == "video"])
    gaps = np.hypot(*(xy[:, None] - xy[None]).transpose(2, 0, 1)) + np.eye(len(xy)) * 1e9
    assert gaps.min() >= 4.0  # CSS pixels between video centres
    named = set(page.locator("#map text").all_inner_texts())
    for point in classes:
        if point.name not in named:
            page.locator(f"#map circle.class[data-name='{point.name}']").hover()
            page.wait_for_selector("#map-tooltip:not([hidden])")
            assert page.inner_text("#map-tooltip") == f"class: {point.name}"
    assert f"{len(classes)} class means, {len(videos)} of {len(explorer.index)} videos" in page.inner_text(
        "#map-method"
    )
    video = videos[len(videos) // 2]
    dot = page.locator(f"#map circle.video[data-name='{video.name}']")
    dot.hover()
    page.wait_for_selector("#map-tooltip:not([hidden])")
    assert page.inner_text("#map-tooltip") == f"video: {video.name} ({video.class_})"
    dot.click()
    page.wait_for_function(f"() => document.querySelector('#neighbours-title').textContent.includes('{video.name}')")
    page.wait_for_selector("#neighbours-videos .video")
    keys = page.locator("#neighbours-videos .video").evaluate_all("cards => cards.map(c => c.dataset.key)")
    assert keys == [v.key for v in explorer.neighbours_of_video(video.name, 10).videos]


def test_the_map_names_a_point_on_hover_and_shows_its_neighbours_on_click(page, explorer):
    assert page.locator("#map circle").count() == len(explorer.map)
    boxes = page.locator("#map text").evaluate_all(
        "ts => ts.map(t => { const b = t.getBBox(); return [b.x, b.y, b.width, b.height]; })"
    )
    assert boxes  # class names are drawn, and no two overlap
    assert not [
        (a, b)
        for i, a in enumerate(boxes)
        for b in boxes[i + 1 :]
        if a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]
    ]
    dot = page.locator("#map circle.class[data-name='grow box']")
    dot.hover()
    page.wait_for_selector("#map-tooltip:not([hidden])")
    assert page.inner_text("#map-tooltip") == "class: grow box"
    dot.click()
    page.wait_for_selector("#neighbours-classes li")
    assert "grow box" in page.inner_text("#neighbours-title")
    want = explorer.neighbours_of_class("grow box", 10)
    assert _texts(page, "#neighbours-classes li .name") == [c.class_ for c in want.classes]
    assert "selected" in dot.get_attribute("class")
    assert page.locator("#map line").count() == 5  # lines to the five nearest class means
    video = explorer.map[-1]
    page.locator(f"#map circle.video[data-name='{video.name}']").click()
    page.wait_for_function(f"() => document.querySelector('#neighbours-title').textContent.includes('{video.name}')")
    page.wait_for_selector("#neighbours-videos .video")
    keys = page.locator("#neighbours-videos .video").evaluate_all("cards => cards.map(c => c.dataset.key)")
    assert keys == [v.key for v in explorer.neighbours_of_video(video.name, 10).videos]


def test_an_uploaded_video_ranks_the_label_texts_typed(page, explorer, demo_run, tmp_path):
    sent: list[str] = []
    page.on("request", lambda request: sent.append(request.url))
    video = demo_run / "toy" / "videos" / "slide_box" / "slide_box_002.mp4"
    labels = ["spin ball", "a box moving sideways", "slide box", "grow ball"]
    page.fill("#upload-labels", "\n".join(labels))
    page.set_input_files("#upload-file", str(video))
    page.wait_for_selector("#upload-ranking li")
    emb = explorer.model.encode_video([video])[0]
    want = [labels[i] for i in np.argsort(-(explorer.model.encode_text(labels) @ emb), kind="stable")]
    assert _texts(page, "#upload-ranking li .name") == want and want[0] == "slide box"
    first = page.locator("#upload-videos .video").first.get_attribute("data-key")
    assert first.endswith("slide_box/slide_box_002.mp4")  # the video itself is its nearest
    # a file that is not a video, and one over the limit (refused before it is sent)
    (tmp_path / "notes.txt").write_text("no video here")
    page.set_input_files("#upload-file", str(tmp_path / "notes.txt"))
    page.wait_for_selector("#upload-error:not([hidden])")
    assert "notes.txt: not a readable video" in page.inner_text("#upload-error")
    (tmp_path / "big.mp4").write_bytes(b"\0" * int(1.5 * 2**20))
    page.set_input_files("#upload-file", str(tmp_path / "big.mp4"))
    page.wait_for_function("() => document.querySelector('#upload-error').textContent.includes('big.mp4')")
    assert f"more than the {UPLOAD_MB:g} MiB limit" in page.inner_text("#upload-error")
    assert sum("/api/upload" in u for u in sent) == 2  # the video and notes.txt; big.mp4 was never sent
