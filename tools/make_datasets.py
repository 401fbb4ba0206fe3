"""Make the built-in data sets once, with a fixed seed, and write them into the package.

    python tools/make_datasets.py

Run it only to change the data on purpose: the CSV files it writes are what ships, and nothing
is random at import. The Gabor minima are found on a dense grid and polished by Newton's method
on the analytic gradient (Hessian by central differences of that gradient).
"""

from pathlib import Path

import numpy as np

from descentlab.problems import gabor, linear_regression

DATA = Path(__file__).resolve().parents[1] / "src" / "descentlab" / "data"
SEED = 6  # chapter 6


def line_fit_data(rng: np.random.Generator) -> np.ndarray:
    x = np.sort(rng.uniform(0.0, 2.0, 12))
    y = 0.7 + 0.5 * x + rng.normal(0.0, 0.12, 12)
    return np.column_stack([x, y])


def gabor_data(rng: np.random.Generator) -> np.ndarray:
    x = rng.uniform(-15.0, 15.0, 30)
    z = 0.5 + 0.06 * 13.0 * x
    y = np.sin(z) * np.exp(-z * z / 32.0) + rng.normal(0.0, 0.08, 30)
    return np.column_stack([x, y])


def gabor_minima(problem, view=((-10.0, 10.0), (2.5, 22.5)), n=400) -> np.ndarray:
    p0, p1 = np.meshgrid(np.linspace(*view[0], n), np.linspace(*view[1], n))
    loss = problem.loss(np.stack([p0, p1], axis=-1))
    inner = loss[1:-1, 1:-1]
    is_min = np.ones_like(inner, dtype=bool)
    for di in (-1, 0, 1):
        for dj in (-1, 0, 1):
            if di or dj:
                is_min &= inner < loss[1 + di:n - 1 + di, 1 + dj:n - 1 + dj]
    found = []
    for i, j in zip(*np.nonzero(is_min), strict=True):
        p = np.array([p0[i + 1, j + 1], p1[i + 1, j + 1]])
        for _ in range(50):
            h = 1e-5
            hess = np.column_stack([(problem.grad(p + e) - problem.grad(p - e)) / (2 * h)
                                    for e in np.eye(2) * h])
            p = p - np.linalg.solve(0.5 * (hess + hess.T), problem.grad(p))
        if np.linalg.norm(problem.grad(p)) < 1e-9 and all(np.linalg.norm(p - q) > 1e-6 for q in found):
            found.append(p)
    found.sort(key=lambda q: float(problem.loss(q)))
    return np.array(found)


def write(name: str, header: str, rows: np.ndarray, fmt: str) -> None:
    np.savetxt(DATA / name, rows, delimiter=",", header=header, comments="", fmt=fmt)


if __name__ == "__main__":
    rng = np.random.default_rng(SEED)
    line = line_fit_data(rng)
    write("line_fit.csv", "x,y", line, "%.3f")
    gab = gabor_data(rng)
    write("gabor.csv", "x,y", gab, "%.4f")
    saved = np.loadtxt(DATA / "gabor.csv", delimiter=",", skiprows=1)
    minima = gabor_minima(gabor(saved[:, 0], saved[:, 1]))
    write("gabor_minima.csv", "phi0,phi1", minima, "%.17g")
    lr = linear_regression(*np.loadtxt(DATA / "line_fit.csv", delimiter=",", skiprows=1).T)
    print("line-fit minimum", lr.minima[0], "gabor minima\n", minima)
