"""``motion``: a weight-free clip backbone of hand-made appearance and motion descriptors.

No pretrained video weights can be shipped, yet the demo must run the real pipeline, so this
backbone describes a clip with measurements instead of learned filters. It suits scenes with one
salient object on a smooth background (the toy actions data set), not real-world video.

Per frame it fits a plane to the border pixels as the background, takes as foreground the pixels far
from it (a soft mask), and measures the object's area, centroid, spread, rotation-invariant shape
moments, radial profile and the angle of its brightness dipole. Per clip it summarises these into:

* appearance: shape moments |c_k| (k = 2..6), radial histogram, compactness, size, brightness;
* motion: signed and absolute centroid velocity, acceleration, reversals, turning of the path,
  straightness, signed area and spread change, visibility and blinking, rotation speed (from the
  dipole angle), and frame-difference energy inside and outside the object.

Signed quantities (velocity, acceleration, area change) flip when the clip is played backwards, so
temporal order matters. Velocities are in frame widths per frame, passed through a signed log, so the
features are comparable across frame rates up to a shift. Everything runs as batched torch ops.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F

from action2vec.errors import ConfigError
from action2vec.video.backbones import register_backbone
from action2vec.video.backbones.base import Backbone

__all__ = ["MotionDescriptors", "FEATURE_NAMES"]

_MOMENT_ORDERS = (2, 3, 4, 5, 6)
_RADIAL_BINS = (0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75)

FEATURE_NAMES: tuple[str, ...] = (
    *(f"shape_moment_{k}" for k in _MOMENT_ORDERS),
    *(f"radial_{b:g}" for b in _RADIAL_BINS),
    "compactness",
    "size",
    "dipole",
    "luma_object",
    "luma_background",
    "velocity_x",
    "velocity_y",
    "speed_x",
    "speed_y",
    "velocity_std_x",
    "velocity_std_y",
    "acceleration_x",
    "acceleration_y",
    "acceleration_abs",
    "reversals_x",
    "reversals_y",
    "turning_signed",
    "turning_abs",
    "straightness",
    "area_change",
    "spread_change",
    "area_variation",
    "visible",
    "blinking",
    "rotation_signed",
    "rotation_abs",
    "difference_energy",
    "difference_inside",
    "position_x",
    "position_y",
)

_EPS = 1e-6


def _slog(x: torch.Tensor, unit: float) -> torch.Tensor:
    """Signed log compression: ~x/unit for small x, logarithmic for large."""
    return torch.sign(x) * torch.log1p(x.abs() / unit)


def _wmean(x: torch.Tensor, w: torch.Tensor, dim: int = -1) -> torch.Tensor:
    return (x * w).sum(dim) / (w.sum(dim) + _EPS)


class _FrameStats(NamedTuple):
    """Per-frame measurements of the masked object, each (N, L) except ``luma`` (N, L, S, S)."""

    valid: torch.Tensor  # 1 for real frames, 0 for zero padding
    luma: torch.Tensor
    mass: torch.Tensor  # mask pixels
    area: torch.Tensor  # fraction of the frame
    vis: torch.Tensor  # soft visibility
    cx: torch.Tensor  # centroid, in [0, 1]
    cy: torch.Tensor
    spread: torch.Tensor  # RMS radius
    luma_object: torch.Tensor
    dip_re: torch.Tensor  # brightness dipole
    dip_im: torch.Tensor
    dipole: torch.Tensor


class MotionDescriptors(Backbone):
    """Appearance and motion descriptors of the salient object per clip: (N, L, H, W, 3) -> (N, 42)
    (``FEATURE_NAMES``)."""

    name = "motion"
    layer = "descriptors"
    dim = len(FEATURE_NAMES)
    clip_len = 8
    pretrained = False
    frame_size = (64, 64)  # decoding resizes to this; ``preprocess`` resizes anything else
    needs_weights = False
    device_preprocess = True
    gx: torch.Tensor  # buffers (registered in __init__)
    gy: torch.Tensor
    border: torch.Tensor

    def __init__(self, size: int = 64, threshold: float = 0.12) -> None:
        super().__init__()
        self.size = size
        self.frame_size = (size, size)
        # Colour distance (RGB in 0..1) from the background where the soft mask starts; it reaches 1 at
        # twice that. Below it the mask is exactly 0, so sensor noise adds no mass far from the object.
        self.threshold = threshold
        grid = (torch.arange(size, dtype=torch.float32) + 0.5) / size
        gy, gx = torch.meshgrid(grid, grid, indexing="ij")
        self.register_buffer("gx", gx, persistent=False)  # (S, S)
        self.register_buffer("gy", gy, persistent=False)
        border = torch.zeros(size, size, dtype=torch.bool)
        border[:2], border[-2:], border[:, :2], border[:, -2:] = True, True, True, True
        self.register_buffer("border", border, persistent=False)

    def preprocess(self, clips: np.ndarray | torch.Tensor) -> torch.Tensor:
        """uint8 RGB (N, L, H, W, 3) array or tensor -> float (N, L, 3, S, S) in [0, 1], resized to S x S."""
        x = torch.from_numpy(np.ascontiguousarray(clips)) if isinstance(clips, np.ndarray) else clips.contiguous()
        n, length, h, w, _ = x.shape
        x = x.permute(0, 1, 4, 2, 3).reshape(n * length, 3, h, w).float() / 255.0
        if (h, w) != (self.size, self.size):
            x = F.interpolate(x, size=(self.size, self.size), mode="bilinear", align_corners=False, antialias=True)
        return x.reshape(n, length, 3, self.size, self.size)

    def _background(self, x: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        """Plane fitted to the border pixels of the clip's real frames (``valid`` (N, L)), twice (the
        second fit ignores outliers) -> (N, 3, S, S)."""
        n = x.shape[0]
        xs, ys = self.gx[self.border], self.gy[self.border]  # (P,)
        design = torch.stack([torch.ones_like(xs), xs - 0.5, ys - 0.5], dim=1)  # (P, 3)
        mean_frame = _wmean(x.permute(0, 2, 3, 4, 1), valid[:, None, None, None], dim=-1)  # (N, 3, S, S)
        target = mean_frame[:, :, self.border]  # (N, 3, P) border pixels
        weight = torch.ones(n, 1, xs.shape[0], dtype=x.dtype, device=x.device)  # (N, 1, P)
        for _ in range(2):
            lhs = torch.einsum("np,pi,pj->nij", weight[:, 0], design, design)  # (N, 3, 3)
            rhs = torch.einsum("ncp,np,pi->nci", target, weight[:, 0], design)  # (N, 3 colours, 3)
            eye = 1e-4 * torch.eye(3, dtype=x.dtype, device=x.device)
            coef = torch.linalg.solve(lhs + eye, rhs.transpose(1, 2)).transpose(1, 2)  # (N, 3 colours, 3)
            fitted = torch.einsum("nci,pi->ncp", coef, design)  # (N, 3, P)
            residual = (target - fitted).norm(dim=1, keepdim=True)  # (N, 1, P)
            weight = (residual < self.threshold).to(x.dtype) + 1e-3
        plane = torch.stack([torch.ones_like(self.gx), self.gx - 0.5, self.gy - 0.5])  # (3, S, S)
        return torch.einsum("nci,ihw->nchw", coef, plane)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, L, 3, S, S) floats in [0, 1] -> (N, dim) descriptors."""
        valid = (x.amax(dim=(2, 3, 4)) > 0).to(x.dtype)  # (N, L) zero frames are padding past the end
        background = self._background(x, valid)  # (N, 3, S, S)
        distance = (x - background[:, None]).norm(dim=2)  # (N, L, S, S)
        mask = torch.clamp(distance / self.threshold - 1.0, 0.0, 1.0)  # (N, L, S, S) soft object mask
        stats = self._frame_stats(x, mask, valid)
        appearance = self._appearance(stats, mask, background)
        motion = [*self._trajectory(stats), *self._changes(stats, mask)]
        out = torch.stack([*appearance, *motion], dim=1)  # (N, dim)
        return torch.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0)

    def _frame_stats(self, x: torch.Tensor, mask: torch.Tensor, valid: torch.Tensor) -> _FrameStats:
        """Per-frame statistics from the row and column sums of the mask (cheap: no per-pixel moments)."""
        g = self.gx[0]  # (S,) pixel centres in [0, 1]
        luma = x.mean(dim=2)  # (N, L, S, S)
        cols, rows = mask.sum(dim=2), mask.sum(dim=3)  # (N, L, S) mass per column (x) and per row (y)
        mass = cols.sum(dim=2)  # (N, L)
        area = mass / float(self.size * self.size)  # fraction of the frame
        vis = torch.clamp(area / 0.002, 0.0, 1.0) * valid  # (N, L) soft visibility
        cx, cy = cols @ g / (mass + _EPS), rows @ g / (mass + _EPS)  # (N, L) centroid
        second = (cols @ (g * g) + rows @ (g * g)) / (mass + _EPS)
        spread = torch.sqrt(torch.clamp(second - cx * cx - cy * cy, min=0.0) + _EPS)  # (N, L) RMS radius
        lit = mask * luma
        lit_cols, lit_rows = lit.sum(dim=2), lit.sum(dim=3)  # (N, L, S)
        lit_mass = lit_cols.sum(dim=2)
        dip_re = (lit_cols @ g - cx * lit_mass) / (mass + _EPS) / spread  # (N, L) brightness dipole
        dip_im = (lit_rows @ g - cy * lit_mass) / (mass + _EPS) / spread
        return _FrameStats(
            valid=valid,
            luma=luma,
            mass=mass,
            area=area,
            vis=vis,
            cx=cx,
            cy=cy,
            spread=spread,
            luma_object=lit_mass / (mass + _EPS),
            dip_re=dip_re,
            dip_im=dip_im,
            dipole=torch.sqrt(dip_re**2 + dip_im**2 + _EPS),
        )

    def _appearance(self, st: _FrameStats, mask: torch.Tensor, background: torch.Tensor) -> list[torch.Tensor]:
        """Shape moments and radial profile on the most visible frame of each clip half, and brightness."""
        length = mask.shape[1]
        starts = [0, length // 2] if length > 1 else [0]
        ends = starts[1:] + [length]
        picks = torch.cat(
            [st.area[:, a:b].argmax(dim=1, keepdim=True) + a for a, b in zip(starts, ends)], dim=1
        )  # (N, K)
        shape_mask = mask.gather(1, picks[..., None, None].expand(-1, -1, self.size, self.size))  # (N, K, S, S)
        s_mass, s_vis, s_spread = st.mass.gather(1, picks), st.vis.gather(1, picks), st.spread.gather(1, picks)
        zx = (self.gx - st.cx.gather(1, picks)[..., None, None]) / s_spread[..., None, None]  # (N, K, S, S)
        zy = (self.gy - st.cy.gather(1, picks)[..., None, None]) / s_spread[..., None, None]
        z = torch.complex(zx, zy)
        power = z * z
        moments = []
        for k in _MOMENT_ORDERS:
            moment = (shape_mask * power).sum(dim=(2, 3)) / (s_mass + _EPS)
            moments.append(moment.abs() / (2.0 ** (k / 2)))
            power = power * z
        radius = torch.sqrt(zx * zx + zy * zy)
        radial = []
        for centre in _RADIAL_BINS:
            kernel = torch.clamp(1.0 - (radius - centre).abs() / 0.25, min=0.0)
            radial.append((shape_mask * kernel).sum(dim=(2, 3)) / (s_mass + _EPS))
        compactness = torch.log(st.spread * st.spread * math.pi / (st.area + _EPS) + _EPS)
        return [
            *(_wmean(m, s_vis) for m in moments),
            *(_wmean(r, s_vis) for r in radial),
            _wmean(compactness, st.vis),
            _wmean(torch.sqrt(st.area), st.vis) * 5.0,
            _wmean(st.dipole, st.vis) * 5.0,
            _wmean(st.luma_object, st.vis),
            background.mean(dim=(1, 2, 3)),  # (N,) background brightness
        ]

    def _trajectory(self, st: _FrameStats) -> list[torch.Tensor]:
        """Motion of the centroid: velocity, acceleration, reversals, turning, straightness."""
        pair = st.vis[:, 1:] * st.vis[:, :-1]  # (N, L-1) both frames visible
        vx, vy = st.cx[:, 1:] - st.cx[:, :-1], st.cy[:, 1:] - st.cy[:, :-1]  # (N, L-1) frame widths per frame
        triple = pair[:, 1:] * pair[:, :-1]  # (N, L-2)
        ax, ay = vx[:, 1:] - vx[:, :-1], vy[:, 1:] - vy[:, :-1]
        speed = torch.sqrt(vx * vx + vy * vy + _EPS)
        cross = vx[:, :-1] * vy[:, 1:] - vy[:, :-1] * vx[:, 1:]
        dot = vx[:, :-1] * vx[:, 1:] + vy[:, :-1] * vy[:, 1:]
        turn = torch.atan2(cross, dot)  # (N, L-2) change of heading
        moving = triple * torch.clamp(speed[:, 1:] * speed[:, :-1] / 1e-4, max=1.0)
        flips_x = (vx[:, 1:] * vx[:, :-1] < 0).to(vx.dtype)
        flips_y = (vy[:, 1:] * vy[:, :-1] < 0).to(vy.dtype)
        net = torch.sqrt(((vx * pair).sum(1)) ** 2 + ((vy * pair).sum(1)) ** 2)
        path = (speed * pair).sum(1)
        u = 0.004  # velocity unit for the signed log
        mean_vx, mean_vy = _wmean(vx, pair), _wmean(vy, pair)
        return [
            _slog(mean_vx, u),
            _slog(mean_vy, u),
            _slog(_wmean(vx.abs(), pair), u),
            _slog(_wmean(vy.abs(), pair), u),
            _slog(torch.sqrt(_wmean((vx - mean_vx[:, None]) ** 2, pair) + _EPS), u),
            _slog(torch.sqrt(_wmean((vy - mean_vy[:, None]) ** 2, pair) + _EPS), u),
            _slog(_wmean(ax, triple), u / 2),
            _slog(_wmean(ay, triple), u / 2),
            _slog(_wmean(torch.sqrt(ax * ax + ay * ay + _EPS), triple), u / 2),
            _wmean(flips_x, moving),
            _wmean(flips_y, moving),
            _wmean(turn, moving).abs(),
            _wmean(turn.abs(), moving),
            net / (path + 1e-3),
        ]

    def _changes(self, st: _FrameStats, mask: torch.Tensor) -> list[torch.Tensor]:
        """Size, visibility, rotation (angle of the brightness dipole), frame differences, position."""
        valid, vis, area = st.valid, st.vis, st.area
        pair = vis[:, 1:] * vis[:, :-1]  # (N, L-1) both frames visible
        log_area = torch.log(area + 1e-4)
        d_area = _wmean(log_area[:, 1:] - log_area[:, :-1], pair)
        log_spread = torch.log(st.spread + 1e-4)
        d_spread = _wmean(log_spread[:, 1:] - log_spread[:, :-1], pair)
        area_mean = _wmean(area, valid)
        area_var = torch.sqrt(_wmean((area - area_mean[:, None]) ** 2, valid) + _EPS) / (area_mean + 1e-3)
        re, im = st.dip_re, st.dip_im
        spin = torch.atan2(
            im[:, 1:] * re[:, :-1] - re[:, 1:] * im[:, :-1], re[:, 1:] * re[:, :-1] + im[:, 1:] * im[:, :-1]
        )
        dip_w = pair * torch.clamp(st.dipole[:, 1:] * st.dipole[:, :-1] / 1e-3, max=1.0)  # (N, L-1)
        diff = (st.luma[:, 1:] - st.luma[:, :-1]).abs()  # (N, L-1, S, S)
        near = torch.maximum(mask[:, 1:], mask[:, :-1])
        real = valid[:, 1:] * valid[:, :-1]  # (N, L-1) both frames real
        diff_all = _wmean(diff.mean(dim=(2, 3)), real)
        diff_inside = _wmean((diff * near).sum(dim=(2, 3)) / (diff.sum(dim=(2, 3)) + _EPS), real)
        return [
            _slog(d_area, 0.02),
            _slog(d_spread, 0.01),
            area_var,
            _wmean(vis, valid),
            _wmean((vis[:, 1:] - vis[:, :-1]).abs(), real) * 2.0,
            _wmean(spin, dip_w).abs(),
            _wmean(spin.abs(), dip_w),
            _slog(diff_all, 0.002),
            diff_inside,
            _wmean(st.cx, vis) * 2 - 1,
            _wmean(st.cy, vis) * 2 - 1,
        ]

    def meta(self) -> dict[str, Any]:
        return {
            **super().meta(),
            "preprocess": f"RGB 0..1, resized to {self.size}x{self.size}",
            "features": list(FEATURE_NAMES),
        }


@register_backbone("motion", cls=MotionDescriptors)
def _motion(weights: Path | None, random_weights: bool, layer: str | None) -> MotionDescriptors:
    if layer not in (None, "descriptors"):
        raise ConfigError(f"backbone.layer: the motion backbone has one layer, 'descriptors', not {layer!r}")
    if weights is not None or random_weights:
        raise ConfigError("backbone: 'motion' has no weights; drop --weights / --random-weights")
    return MotionDescriptors()
