"""Slab diffusion model, Jacobian and the finite-volume phantom against published closed forms."""

from __future__ import annotations

import numpy as np
import pytest

from drivers.sim.dot_phantom import SlabPhantom, fd_measurements
from imaging.dot_forward import (
    boundary_coefficient,
    cw_measurements,
    slab_face_flux,
    slab_fluence,
)
from imaging.dot_grid import VoxelGrid
from imaging.dot_jacobian import rytov_jacobian

SEPARATIONS_MM = np.arange(10.0, 40.1, 5.0)


def contini_a(n: float) -> float:
    """Contini et al. (1997), eq. 3.6: polynomial fit of A for n_rel > 1."""
    return (
        504.332889
        - 2641.00214 * n
        + 5923.699064 * n**2
        - 7376.355814 * n**3
        + 5507.53041 * n**4
        - 2463.357945 * n**5
        + 610.956547 * n**6
        - 64.8047 * n**7
    )


def farrell_reflectance(rho, mua, musp, n):
    """Farrell, Patterson & Wilson (1992), eq. 7 with D = 1/(3μs'), z0 = 1/μs'."""
    d = 1.0 / (3.0 * musp)
    mu_eff = np.sqrt(mua / d)
    z0 = 1.0 / musp
    zb = 2.0 * contini_a(n) * d
    r1 = np.sqrt(rho**2 + z0**2)
    r2 = np.sqrt(rho**2 + (z0 + 2 * zb) ** 2)
    return (
        z0 * (mu_eff + 1 / r1) * np.exp(-mu_eff * r1) / r1**2
        + (z0 + 2 * zb) * (mu_eff + 1 / r2) * np.exp(-mu_eff * r2) / r2**2
    ) / (4 * np.pi)


def contini_transmittance(rho, mua, musp, thickness, n, orders=20):
    """Contini, Martelli & Zaccanti (1997), eq. 4.22 (CW: time-integrated transmittance)."""
    d = 1.0 / (3.0 * musp)
    mu_eff = np.sqrt(mua / d)
    z0 = 1.0 / musp
    ze = 2.0 * contini_a(n) * d
    total = np.zeros_like(rho)
    for m in range(-orders, orders + 1):
        z1 = thickness * (1 - 2 * m) - 4 * m * ze - z0
        z2 = thickness * (1 - 2 * m) - (4 * m - 2) * ze + z0
        r1 = np.sqrt(rho**2 + z1**2)
        r2 = np.sqrt(rho**2 + z2**2)
        total += z1 * (mu_eff + 1 / r1) * np.exp(-mu_eff * r1) / r1**2
        total -= z2 * (mu_eff + 1 / r2) * np.exp(-mu_eff * r2) / r2**2
    return total / (4 * np.pi)


def line_probes(thickness: float):
    source = np.array([[0.0, 0.0, 0.0]])
    top = np.column_stack([SEPARATIONS_MM, np.zeros(7), np.zeros(7)])
    bottom = np.column_stack([SEPARATIONS_MM, np.zeros(7), np.full(7, thickness)])
    return source, top, bottom


@pytest.mark.parametrize("n", [1.33, 1.4, 1.45])
def test_boundary_coefficient_matches_contini_fit(n):
    assert boundary_coefficient(n) == pytest.approx(contini_a(n), rel=0.01)
    assert boundary_coefficient(1.0) == pytest.approx(1.0, abs=1e-9)


@pytest.mark.parametrize(("mua", "musp", "n"), [(0.01, 1.0, 1.4), (0.02, 0.8, 1.33)])
def test_semi_infinite_reflectance_matches_farrell(mua, musp, n):
    source, top, _ = line_probes(np.inf)
    index = np.arange(7)
    for thickness in (np.inf, 150.0):
        model = cw_measurements(source, top, 0 * index, index, mua, musp, thickness, n)
        expected = farrell_reflectance(SEPARATIONS_MM, mua, musp, n)
        assert np.all(np.abs(model / expected - 1) < 0.05)


@pytest.mark.parametrize("thickness", [20.0, 40.0, 60.0])
def test_slab_transmittance_matches_contini(thickness):
    source, _, bottom = line_probes(thickness)
    index = np.arange(7)
    model = cw_measurements(source, bottom, 0 * index, index, 0.01, 1.0, thickness, 1.4)
    expected = contini_transmittance(SEPARATIONS_MM, 0.01, 1.0, thickness, 1.4)
    assert np.all(np.abs(model / expected - 1) < 0.05)


def test_thin_slab_reflectance_falls_below_semi_infinite():
    source, top, _ = line_probes(10.0)
    index = np.arange(7)
    thin = cw_measurements(source, top, 0 * index, index, 0.01, 1.0, 10.0)
    thick = cw_measurements(source, top, 0 * index, index, 0.01, 1.0, np.inf)
    assert np.all(thin < thick)


def test_green_function_is_reciprocal():
    rng = np.random.default_rng(3)
    a = rng.uniform([-20, -20, 1], [20, 20, 29], (5, 3))
    b = rng.uniform([-20, -20, 1], [20, 20, 29], (7, 3))
    forward = slab_fluence(a, b, 0.01, 1.0, 30.0)
    backward = slab_fluence(b, a, 0.01, 1.0, 30.0)
    np.testing.assert_allclose(forward, backward.T, rtol=1e-12)


def test_probes_off_the_faces_are_refused():
    with pytest.raises(ValueError, match="face"):
        slab_face_flux([[0, 0, 5.0]], [[10, 0, 3.0]], 0.01, 1.0, 30.0)
    with pytest.raises(ValueError, match="positive"):
        slab_fluence([[0, 0, 5.0]], [[10, 0, 3.0]], -0.01, 1.0, 30.0)


def test_jacobian_integrates_to_the_homogeneous_derivative():
    """Σ_v J_v = ∂ ln I / ∂μa for a uniform change (total mean pathlength)."""
    thickness, mua, musp = 30.0, 0.01, 1.0
    sources = np.array([[0.0, 0.0, 0.0]])
    detectors = np.array([[15.0, 0.0, 0.0], [30.0, 0.0, 0.0], [10.0, 0.0, thickness]])
    s_idx, d_idx = np.zeros(3, dtype=int), np.arange(3)
    step = 1.5
    grid = VoxelGrid(
        np.arange(-45.0, 75.0, step) + step / 2,
        np.arange(-60.0, 60.0, step) + step / 2,
        np.arange(0.0, thickness, step) + step / 2,
    )
    jac = rytov_jacobian(
        sources,
        detectors,
        s_idx,
        d_idx,
        grid.centers_mm,
        grid.voxel_volume_mm3,
        mua,
        musp,
        thickness,
    )
    h = 1e-6
    plus = np.log(cw_measurements(sources, detectors, s_idx, d_idx, mua + h, musp, thickness))
    minus = np.log(cw_measurements(sources, detectors, s_idx, d_idx, mua - h, musp, thickness))
    np.testing.assert_allclose(jac.sum(axis=1), (plus - minus) / (2 * h), rtol=0.05)


def test_finite_volume_phantom_agrees_with_the_analytic_slab():
    """The independent test-data model reproduces the image-source solution at 15-40 mm."""
    phantom = SlabPhantom(width_mm=90.0, thickness_mm=30.0, mua_per_mm=(0.01,), musp_per_mm=(1.0,))
    sources = np.array([[0.0, 0.0, 0.0]])
    rho = np.array([15.0, 25.0, 35.0])
    detectors = np.column_stack([rho, 0 * rho, 0 * rho])
    index = np.arange(3)
    zeros = np.zeros(3, dtype=int)
    numeric = fd_measurements(phantom, sources, detectors, zeros, index, zeros, step_mm=1.5)
    analytic = cw_measurements(sources, detectors, zeros, index, 0.01, 1.0, 30.0)
    np.testing.assert_allclose(numeric / analytic, 1.0, atol=0.05)


def test_jacobian_is_finite_with_a_voxel_on_the_effective_source():
    """A voxel centre exactly one transport length under a source: finite, near its neighbours."""
    musp, thickness, edge = 0.5, 60.0, 4.0
    sources = np.array([[0.0, 0.0, 0.0]])
    detectors = np.array([[0.0, 0.0, thickness]])
    depth = 1.0 / musp
    voxels = np.array([[0.0, 0.0, depth], [edge, 0.0, depth], [0.0, 0.0, depth + edge]])
    jac = rytov_jacobian(sources, detectors, [0], [0], voxels, edge**3, 0.01, musp, thickness)
    assert np.all(np.isfinite(jac))
    assert abs(jac[0, 0]) > abs(jac[0, 1])  # still the most sensitive voxel
    assert abs(jac[0, 0]) < 10.0 * abs(jac[0, 1])
