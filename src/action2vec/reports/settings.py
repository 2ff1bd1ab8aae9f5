"""The report's "data and settings": what a reader needs to reproduce each table, gathered from what the run
folder records (the zero-shot summary's data sources and protocol settings, the model folders' config.json and
labels.json, the semantic tests' settings) and the code that writes the report (git describe, else the version).
"""

from __future__ import annotations

import datetime
import logging
import subprocess
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Sequence

from action2vec.errors import Action2VecError
from action2vec.evaluation.results import AnalogyResult, DataSource, WordNetResult, ZslSummary
from action2vec.io import read_json
from action2vec.model_folder import CONFIG_FILE, FORMAT, ModelInfo
from action2vec.models.factory import resolve_config
from action2vec.text.vectors import NAMES_FILE, names_file_text
from action2vec.variants import title

log = logging.getLogger(__name__)

__all__ = ["Setting", "ModelFolder", "find_model_folders", "code_version", "data_and_settings"]


@dataclass
class Setting:
    """One line of the "data and settings" table."""

    topic: str  # "Data", "Label texts", "Zero-shot protocol", "Methods", "Semantic tests", "Code"
    name: str
    value: str


@dataclass
class ModelFolder:
    """A model folder found in the run folder: its path (relative), its config and its label texts."""

    path: str
    info: ModelInfo
    text: str = ""
    prompts: tuple[str, ...] = ()

    @property
    def zsl_variant(self) -> str | None:
        """The method when it is a zero-shot split's model (``runs/<dataset>/<split>/<method>/train/model``)."""
        parts = Path(self.path).parts
        if len(parts) >= 6 and parts[-6] == "runs" and parts[-2:] == ("train", "model"):
            return parts[-3]
        return None


def find_model_folders(run_dir: Path) -> list[ModelFolder]:
    """Every model folder under ``run_dir`` (shallowest first); a config.json that does not read is skipped."""
    out = []
    for cfg in sorted(run_dir.rglob(CONFIG_FILE), key=lambda p: (len(p.parts), str(p))):
        try:
            doc = read_json(cfg, "model config")
            if not isinstance(doc, dict) or doc.get("format") != FORMAT:
                continue
            info = ModelInfo.from_json(doc, cfg)
            labels = (
                read_json(cfg.parent / NAMES_FILE, "label vocabulary") if (cfg.parent / NAMES_FILE).is_file() else {}
            )
        except Action2VecError as exc:
            log.warning("skipping %s: %s", cfg, exc)
            continue
        out.append(
            ModelFolder(
                str(cfg.parent.relative_to(run_dir)),
                info,
                str(names_file_text(labels) or ""),
                tuple(labels.get("prompts") or ()),
            )
        )
    return out


def code_version() -> str:
    """``git describe`` of the installed package's source tree when it is a git checkout, else its version."""
    here = Path(__file__).resolve().parent
    try:
        done = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--tags"],
            cwd=here,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        if done.returncode == 0 and done.stdout.strip():
            return f"git {done.stdout.strip()}"
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        return f"version {metadata.version('action2vec')}"
    except metadata.PackageNotFoundError:
        return "version unknown"


def _features(meta: dict[str, Any]) -> str:
    """``"motion descriptors, 42-d, 8-frame clips every 4 frames at 12 fps, no PCA"``."""
    name = " ".join(str(meta[k]) for k in ("backbone", "layer") if meta.get(k)) or "features"
    parts = [name + (f", {meta['dim']}-d" if meta.get("dim") else "")]
    if meta.get("clip_len"):
        clip = f"{meta['clip_len']}-frame clips"
        if meta.get("stride"):
            clip += f" every {meta['stride']} frames"
        if meta.get("fps"):
            clip += f" at {meta['fps']:g} fps"
        parts.append(clip)
    if meta.get("random_weights"):
        parts.append("random weights")
    parts.append(
        f"store PCA to {meta['pca']}"
        if isinstance(meta.get("pca"), int) and meta["pca"]
        else "store PCA"
        if meta.get("pca")
        else "no store PCA"
    )
    return ", ".join(parts)


def _text(embedder: str, prompts: Sequence[str]) -> str:
    if not embedder:
        return "label vectors given by hand"
    return f"{embedder}, " + (
        "prompts " + "; ".join(f"“{p}”" for p in prompts) if prompts else "no prompts (the class phrase alone)"
    )


def _resolved(path: str) -> str:
    """A recorded store path in one form (older records hold it as typed, relative to a folder unknown here)."""
    return str(Path(path).resolve())


def shown_path(path: str, run_dir: Path) -> str:
    """A recorded path as the report shows it: relative to the run folder when it lies inside it (a report
    stays true when the folder moves), else as recorded."""
    try:
        return str(Path(path).resolve().relative_to(Path(run_dir).resolve()))
    except ValueError:
        return path


def _data_rows(zsl: ZslSummary | None, models: list[ModelFolder], run_dir: Path) -> list[Setting]:
    rows: list[Setting] = []
    stores: dict[str, str] = {}
    for name, ds in zsl.datasets.items() if zsl else ():
        src = ds.source or DataSource()
        if not src.store:
            continue
        counts = ", ".join(
            x
            for x in (
                f"{src.videos} videos" if src.videos is not None else "",
                f"splits drawn from {src.classes} classes" if src.classes else "",
            )
            if x
        )
        store = shown_path(src.store, run_dir)
        rows.append(Setting("Data", f"zero-shot data set {name}", f"{store} ({counts})" if counts else store))
        rows.append(Setting("Data", f"features of {name}", _features(src.meta)))
        stores[_resolved(src.store)] = name
    for m in models:
        if m.zsl_variant is None and m.info.data.store and _resolved(m.info.data.store) not in stores:
            stores[_resolved(m.info.data.store)] = m.path
            rows.append(Setting("Data", f"store of {m.path}", shown_path(m.info.data.store, run_dir)))
            rows.append(Setting("Data", f"features of {m.path}", _features(m.info.features)))
    return rows


def _text_rows(
    zsl: ZslSummary | None, models: list[ModelFolder], wordnet: WordNetResult | None, analogy: AnalogyResult | None
) -> list[Setting]:
    seen: dict[str, list[str]] = {}
    for name, ds in zsl.datasets.items() if zsl else ():
        if ds.source is not None:
            seen.setdefault(_text(ds.source.text, ds.source.prompts), []).append(f"zero-shot ({name})")
    for m in models:
        if m.zsl_variant is None:
            seen.setdefault(_text(m.text, m.prompts), []).append(m.path)
    if wordnet is not None and wordnet.text:
        seen.setdefault(_text(wordnet.text, ()), []).append("WordNet test")
    if analogy is not None and analogy.text:
        seen.setdefault(f"{analogy.text} (the nouns of the analogy test)", []).append("analogy test")
    return [Setting("Label texts", ", ".join(users), text) for text, users in seen.items()]


def _splits(zsl: ZslSummary) -> str:
    """``"50/50: 5 random splits (seeds 0-4)"`` per ratio; given splits by name."""
    parts = []
    for ratio in zsl.ratios():
        runs = {(r.split, r.seed) for r in zsl.runs if r.ratio_key == ratio}
        seeds = sorted(s for _, s in runs if s is not None)
        if ratio and seeds and all(r.ratio for r in zsl.runs if r.ratio_key == ratio):
            span = f"seed {seeds[0]}" if len(seeds) == 1 else f"seeds {', '.join(map(str, seeds))}"
            parts.append(f"{ratio}: {len(runs)} random split{'s' if len(runs) != 1 else ''} ({span})")
        else:
            parts.append(f"given split {ratio}")
    return "; ".join(parts) or f"{zsl.n_splits} splits"


def _pca(zsl: ZslSummary, variant: str) -> str:
    fits = [r.pca for r in zsl.runs if r.variant == variant and r.pca is not None]
    if not fits:
        return "not recorded"
    kinds = sorted({f.fitted_on for f in fits})
    words = {
        "seen": "fitted per split on its seen classes' training videos",
        "store": "the store's own PCA",
        "none": "none",
    }
    text = "; ".join(words[k] for k in kinds)
    videos = [f.videos for f in fits if f.fitted_on == "seen" and f.videos]
    return text + (
        f" ({min(videos)}-{max(videos)} videos)"
        if videos and min(videos) != max(videos)
        else f" ({videos[0]} videos)"
        if videos
        else ""
    )


def _zsl_rows(zsl: ZslSummary) -> list[Setting]:
    cfg = zsl.config
    rows = [
        Setting("Zero-shot protocol", "class splits", _splits(zsl)),
        Setting("Zero-shot protocol", "methods", ", ".join(title(v, zsl.transductive) for v in zsl.variants)),
        Setting(
            "Zero-shot protocol",
            "transductive",
            "yes: the methods used the unlabelled test videos" if zsl.transductive else "no",
        ),
    ]
    if cfg:
        extra = [
            f"seen-class hold-out {cfg['seen_holdout']:g}" if cfg.get("seen_holdout") else "no seen-class hold-out",
            f"overlap filter at cosine {cfg['overlap_threshold']:g}"
            if cfg.get("overlap_threshold")
            else "no overlap filter",
            f"top-k {', '.join(map(str, cfg.get('top_k', [])))}",
        ]
        rows.append(Setting("Zero-shot protocol", "options", "; ".join(extra)))
    for variant in zsl.variants:
        rows.append(Setting("Zero-shot protocol", f"PCA of {title(variant)}", _pca(zsl, variant)))
    return rows


def _model_highlights(info: ModelInfo) -> str:
    """``"hrnn_attention: LSTM 64/64, attention 16 (concat); windows of 4 steps every 4, ...; 50 epochs, ..."``."""
    try:
        m = resolve_config(info.model)  # the preset's sizes where the folder left them unset
    except Action2VecError:
        m = info.model
    loss, train = info.loss, info.train
    parts = [f"{m.variant}: LSTM {m.lstm1_hidden}/{m.lstm2_hidden}"]
    if m.variant == "hrnn_attention":
        parts[0] += f", attention {m.attention_dim} ({m.attention_input})"
    parts.append(f"windows of {m.window} steps every {m.window_stride}, dropout {m.dropout}, {m.embed_dim}-d output")
    if loss:
        parts.append(
            f"loss: ranking margin {loss.get('margin')}, λ {loss.get('lambda_initial')} then "
            f"{loss.get('lambda_final')} from {loss.get('lambda_switch')} of the first epoch"
        )
    if train:
        parts.append(
            f"{train.get('epochs')} epochs, batch {train.get('batch_size')}, lr {train.get('lr')}, "
            f"seed {train.get('seed')}"
        )
    parts.append(f"{info.data.train_videos} training videos of {len(info.classes)} classes")
    return "; ".join(parts)


def _krr(cfg: dict[str, Any]) -> str:
    k = cfg.get("krr") or {}
    if not k:
        return "settings not recorded"
    return (
        f"{k.get('kernel')} kernel (width × {k.get('sigma_scale')}), γ_A {k.get('gamma_a')}, γ_I {k.get('gamma_i')} "
        f"on a {k.get('neighbors')}-nearest-neighbour graph, at most {k.get('max_train')} training videos"
    )


def _method_rows(zsl: ZslSummary | None, models: list[ModelFolder]) -> list[Setting]:
    rows = []
    first_model: dict[str, ModelFolder] = {}
    for m in models:
        if m.zsl_variant is not None:
            first_model.setdefault(m.zsl_variant, m)
    for variant in zsl.variants if zsl else ():
        if variant == "pooled_krr":
            rows.append(Setting("Methods", title(variant), _krr(zsl.config if zsl is not None else {})))
        elif variant == "pooled_match":
            rows.append(
                Setting(
                    "Methods",
                    title(variant),
                    "no training: each test video's mean step feature (the "
                    "store's raw features), cosine to the unseen classes' text embeddings by the same "
                    "model's text tower",
                )
            )
        elif variant in first_model:
            rows.append(
                Setting(
                    "Methods",
                    title(variant),
                    f"{_model_highlights(first_model[variant].info)} "
                    f"(first split's model, {first_model[variant].path})",
                )
            )
    for m in models:
        if m.zsl_variant is None:
            rows.append(Setting("Methods", f"model {m.path}", _model_highlights(m.info)))
    return rows


def _semantic_rows(wordnet: WordNetResult | None, analogy: AnalogyResult | None) -> list[Setting]:
    rows = []
    if wordnet is not None:
        given = f" of {wordnet.n_classes_given}" if wordnet.n_classes_given else ""
        rows.append(
            Setting(
                "Semantic tests",
                "WordNet test",
                f"{wordnet.n_classes}{given} classes found in WordNet (lemma: {wordnet.match}; Wu-Palmer "
                f"over {'every sense pair (max)' if wordnet.synsets == 'max' else 'first senses'}); "
                f"class vectors: {', '.join(wordnet.spearman_by)}",
            )
        )
    if analogy is not None:
        readings = sorted({s.exclude_query for s in analogy.scores}, reverse=True)
        rows.append(
            Setting(
                "Semantic tests",
                "analogy test",
                f"{analogy.count} tests on {analogy.n_classes or '?'} classes; {analogy.metric} distance; "
                f"vectors {'unit-normalised' if analogy.normalize else 'raw'}; readings: "
                + ", ".join("query class left out" if r else "every class a candidate" for r in readings),
            )
        )
    return rows


def data_and_settings(
    run_dir: str | Path,
    zsl: ZslSummary | None = None,
    wordnet: WordNetResult | None = None,
    analogy: AnalogyResult | None = None,
    now: datetime.datetime | None = None,
) -> list[Setting]:
    """The "data and settings" lines of a run folder's report, in table order."""
    models = find_model_folders(Path(run_dir))
    rows = _data_rows(zsl, models, Path(run_dir)) + _text_rows(zsl, models, wordnet, analogy)
    if zsl is not None:
        rows += _zsl_rows(zsl)
    rows += _method_rows(zsl, models) + _semantic_rows(wordnet, analogy)
    when = (now or datetime.datetime.now().astimezone()).strftime("%Y-%m-%d %H:%M %Z").strip()
    rows += [Setting("Code", "action2vec", code_version()), Setting("Code", "report written", when)]
    return rows
