"""Decoding the polar ``angles`` reader's column votes: 12 o'clock from the tick lattice and the columns' mark
votes, the hour at the places its hand can point given the minute, and the losses over columns.

Pure functions on tensors, split out of ``modeling_clock`` (which re-exports them). This file imports nothing
from ``tinyvision`` (trust_remote_code).
"""

from __future__ import annotations

import torch

# The ``angles`` head's column readout on the polar grid, in ``AnglesHead.OUTPUTS`` order: marker, hour
# hand, minute hand at their own angle, and the tick phase at 12 times the marker's.
COLUMN_TARGET_FREQUENCIES = (1.0, 1.0, 1.0, 12.0)
# an hour-hand place this near the minute hand is where a reader that missed the hour hand puts its votes
HOUR_OVERLAP_DEGREES = 20.0
# a column's mark votes: how many twelfths of the dial past 12 o'clock it lies
MARK_SECTORS = 12


# ----------------------------------------------------------------------------- the column readout
def angle_gap(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """How far apart directions ``a`` and ``b`` are (degrees, broadcast), the short way round: 0–180."""
    return ((a - b + 180.0).remainder(360.0) - 180.0).abs()


def tick_lattice(tick_phase: torch.Tensor) -> torch.Tensor:
    """(B,) tick phase (12 × the marker's angle, degrees) → (B, 12): the twelve marks it puts on the dial."""
    steps = 30.0 * torch.arange(12, device=tick_phase.device, dtype=tick_phase.dtype)
    return (tick_phase / 12.0)[:, None] + steps


def marker_by_ticks(weights: torch.Tensor, votes: torch.Tensor, tick_phase: torch.Tensor,
                    window: float = 15.0, evidence: torch.Tensor | None = None) -> torch.Tensor:
    """The point of the tick lattice (``tick_phase / 12 + 30 k``) that holds the most marker probability.

    ``weights`` (B, A) is the marker's softmax over the polar columns and ``votes`` (B, A) the direction
    each column votes for (degrees). Each lattice point collects the weight of the votes within ``window``
    degrees. When the network hesitates between two marks (a bar at 12 or the tick at 6), the mean of its
    votes points between them, at neither; the heaviest lattice point is one of them. ``evidence`` (B, 12),
    when given, is added to the log of each point's mass (the mark votes, :func:`mark_vote_scores`).
    """
    lattice = tick_lattice(tick_phase)
    score = lattice_scores(weights, votes, lattice, window, evidence)
    return lattice.gather(1, score.argmax(1, keepdim=True))[:, 0].remainder(360.0)


def lattice_scores(weights: torch.Tensor, votes: torch.Tensor, lattice: torch.Tensor, window: float = 15.0,
                   evidence: torch.Tensor | None = None) -> torch.Tensor:
    """(B, K) per lattice point (``lattice`` (B, K), degrees) the marker's mass there, the weight of the votes
    within ``window`` degrees of it; with ``evidence`` (B, K), the log of that mass (at least 1e-4) plus it."""
    gap = angle_gap(votes[:, :, None], lattice[:, None, :])  # (B, A, K)
    mass = (weights[:, :, None] * (gap < window).to(weights.dtype)).sum(1)
    return mass if evidence is None else mass.clamp(min=1e-4).log() + evidence


def hour_by_lattice(weights: torch.Tensor, votes: torch.Tensor, marker: torch.Tensor, minute: torch.Tensor,
                    window: float, minute_hand: torch.Tensor | None = None,
                    overlap_discount: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """The hour (B,) whose hand place holds the most hour-hand votes, and whether any place held a vote (B,).

    ``weights`` and ``votes`` (B, A) are the hour hand's column softmax and vote directions (degrees), ``marker``
    (B,) the direction of 12 o'clock, ``minute`` (B,) the minute read (0–60, a float). At ``H:minute`` the hour
    hand points at ``marker + 30 H + minute / 2``; each of the twelve places collects the weight of the votes
    within ``window`` degrees of it (:func:`lattice_scores`). With ``minute_hand`` (B,) the minute hand's direction,
    the votes at a place within ``HOUR_OVERLAP_DEGREES`` of it count ``overlap_discount`` times (a reader that
    missed the hour hand votes for the minute hand: see ``ClockReaderConfig.hour_overlap_discount``).
    """
    steps = 30.0 * torch.arange(12, device=votes.device, dtype=votes.dtype)
    places = (marker + minute / 2.0)[:, None] + steps
    mass = lattice_scores(weights, votes, places, window)
    placed = mass.amax(1) > 0
    if minute_hand is not None and overlap_discount != 1.0:
        near = angle_gap(places, minute_hand[:, None]) < HOUR_OVERLAP_DEGREES
        mass = torch.where(near, overlap_discount * mass, mass)
    return mass.argmax(1), placed


def hand_fit_scores(weights: torch.Tensor, votes: torch.Tensor, lattice: torch.Tensor, minute_degrees: torch.Tensor,
                    sigma: float) -> torch.Tensor:
    """How well the hour hand fits each candidate 12 o'clock: (B, K), the log (at least 1e-4) of the hour hand's
    column weight near its best place if 12 were there.

    ``weights`` and ``votes`` (B, A) are the hour hand's column softmax and vote directions, ``lattice`` (B, K)
    the candidate directions of 12 and ``minute_degrees`` (B,) where the minute hand points (all in degrees). A
    candidate reads the minute ``(minute_degrees - 12) / 6``, so the hour hand must point at ``12 + 30 h +
    minute / 2`` for some ``h``; each vote counts for the nearest such place (the others are at least 15 degrees
    away) by a Gaussian of ``sigma`` degrees.
    """
    minute = (minute_degrees[:, None] - lattice).remainder(360.0) / 6.0  # (B, K)
    past = (votes[:, None, :] - (lattice + minute / 2.0)[..., None]).remainder(360.0)  # (B, K, A): past the 12's place
    place = torch.floor(past / 30.0 + 0.5)
    kernel = weights[:, None, :] * torch.exp(-0.5 * ((past - 30.0 * place) / sigma) ** 2)
    mass = kernel.new_zeros(*kernel.shape[:2], 12).scatter_add_(2, place.long().remainder(12), kernel)
    return mass.amax(-1).clamp(min=1e-4).log()


def nearest_shares(angles: torch.Tensor, centres: torch.Tensor) -> torch.Tensor:
    """``angles`` (...) in degrees → (..., K): each angle's share of ``centres`` (K,), evenly spaced round the
    circle, split between the two nearest in proportion to its closeness (every row sums to 1)."""
    width = 360.0 / len(centres)
    return (1.0 - angle_gap(angles[..., None], centres) / width).clamp(min=0.0)


def sector_shares(directions: torch.Tensor, marker: torch.Tensor) -> torch.Tensor:
    """Where each direction lies relative to 12 o'clock, as shares of the twelve hour sectors: ``directions``
    (..., A) and ``marker`` (...) in degrees → (..., A, 12), sector h centred h marks clockwise past 12, a
    direction between two sector centres shared by both in proportion to its closeness (rows sum to 1)."""
    centres = (360.0 / MARK_SECTORS) * torch.arange(MARK_SECTORS, device=directions.device, dtype=directions.dtype)
    return nearest_shares(directions - marker[..., None], centres)


def mark_vote_scores(directions: torch.Tensor, evidence: torch.Tensor, lattice: torch.Tensor) -> torch.Tensor:
    """The columns' evidence for each lattice point as 12 o'clock: ``directions`` (B, A) of the columns,
    ``evidence`` (B, A, 12) per column and sector, ``lattice`` (B, K) candidate directions of 12 → (B, K),
    per candidate the sum over columns of the evidence for the sector that candidate puts the column in."""
    shares = sector_shares(directions[:, None, :], lattice)  # (B, K, A, 12)
    return (shares * evidence[:, None]).sum((2, 3))


def vote_vectors(weights: torch.Tensor, votes: torch.Tensor) -> torch.Tensor:
    """Column weights and votes (B, A, T) → (B, 2 T): per target, the weighted mean of the votes as unit
    vectors ``(sin, cos)``, taken at ``COLUMN_TARGET_FREQUENCIES`` times the vote (12 for the tick phase)."""
    frequencies = torch.tensor(COLUMN_TARGET_FREQUENCIES, device=votes.device, dtype=votes.dtype)
    radians = torch.deg2rad(frequencies * votes)
    vectors = torch.stack(((weights * torch.sin(radians)).sum(1), (weights * torch.cos(radians)).sum(1)), -1)
    return vectors.reshape(len(votes), -1)


def column_cross_entropy(log_weights: torch.Tensor, directions: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of a softmax over polar columns (``log_weights`` (B, A), column ``directions`` (A,) in
    degrees) against the true direction ``target`` (B,), shared between the two nearest columns in
    proportion to their closeness."""
    share = nearest_shares(target, directions)
    share = share / share.sum(1, keepdim=True).clamp(min=1e-12)
    return -(share * log_weights).sum(1).mean()
