"""The plain-numpy baseline of bench/backend.py: what one writes without asvlab (kaldiio to read, str.split
to parse, a dict to index, row gathers to score, f-strings to write). It runs as its own process, so its
time includes Python start-up, as the CLIs' does.

    python bench/plain_backend.py cosine ENROLL_SCP TEST_SCP TRIALS MEAN_SCP OUT
    python bench/plain_backend.py asnorm ENROLL_SCP TEST_SCP SCORES COHORT_SCP MEAN_SCP TOP_N OUT
    python bench/plain_backend.py metrics TRIALS SCORES
    python bench/plain_backend.py plda-train TRAIN_SCP UTT2SPK EM_ITERS OUT_NPZ
    python bench/plain_backend.py plda-score MODEL_NPZ ENROLL_SCP TEST_SCP TRIALS OUT
"""
import sys

import kaldiio
import numpy as np


def load(scp):
    keys, rows = [], []
    for k, v in kaldiio.load_scp_sequential(scp):
        keys.append(k)
        rows.append(v)
    return {k: i for i, k in enumerate(keys)}, np.stack(rows).astype(np.float32)


def unit(x):
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def read3(path):
    with open(path) as f:
        tok = f.read().split()
    return tok[0::3], tok[1::3], tok[2::3]


def write(path, e, t, s):
    with open(path, "w") as f:
        f.writelines(f"{a} {b} {x:.6f}\n" for a, b, x in zip(e, t, s.tolist()))


def cosine(enroll_scp, test_scp, trials, mean_scp, out):
    (epos, enr), (tpos, tst) = load(enroll_scp), load(test_scp)
    mean = load(mean_scp)[1].mean(0)  # the training mean (here: of the cohort)
    enr, tst = unit(enr - mean), unit(tst - mean)
    e, t, _ = read3(trials)
    ei = np.array([epos[x] for x in e])
    ti = np.array([tpos[x] for x in t])
    s = np.concatenate([np.einsum("ij,ij->i", enr[ei[i:i + 100_000]], tst[ti[i:i + 100_000]])
                        for i in range(0, len(ei), 100_000)])
    write(out, e, t, s)


def stats(x, cohort, top_n):
    s = np.partition(unit(x) @ unit(cohort).T, -top_n, axis=1)[:, -top_n:].astype(np.float64)
    return s.mean(1), s.std(1)


def asnorm(enroll_scp, test_scp, scores, cohort_scp, mean_scp, top_n, out):
    (epos, enr), (tpos, tst), (_, coh) = load(enroll_scp), load(test_scp), load(cohort_scp)
    mean = load(mean_scp)[1].mean(0)
    enr, tst, coh = enr - mean, tst - mean, coh - mean
    e, t, s = read3(scores)
    s = np.array(s, dtype=np.float64)
    ei = np.array([epos[x] for x in e])
    ti = np.array([tpos[x] for x in t])
    (me, se), (mt, st) = stats(enr, coh, int(top_n)), stats(tst, coh, int(top_n))
    write(out, e, t, 0.5 * ((s - me[ei]) / se[ei] + (s - mt[ti]) / st[ti]))


def metrics(trials, scores):
    _, _, lab = read3(trials)
    _, _, s = read3(scores)
    tar = np.array(lab) == "target"
    order = np.argsort(np.array(s, dtype=np.float64))
    t = tar[order]
    p_miss = np.r_[0, np.cumsum(t)] / t.sum()
    p_fa = 1 - np.r_[0, np.cumsum(~t)] / (~t).sum()
    k = np.argmin(np.abs(p_miss - p_fa))
    dcf = [(0.01 * p_miss + 0.99 * p_fa).min() / 0.01, (0.001 * p_miss + 0.999 * p_fa).min() / 0.001]
    print(f"EER={100 * (p_miss[k] + p_fa[k]) / 2:.3f}% minDCF(0.01)={dcf[0]:.4f} minDCF(0.001)={dcf[1]:.4f}")


def plda_train(train_scp, utt2spk, iters, out):
    """Two-covariance PLDA by EM as in Kaldi, classes of equal size sharing one posterior covariance."""
    pos, x = load(train_scp)
    x = x.astype(np.float64)
    with open(utt2spk) as f:
        u2s = dict(line.split()[:2] for line in f)
    _, y, n = np.unique([u2s[k] for k in pos], return_inverse=True, return_counts=True)
    means = np.zeros((len(n), x.shape[1]))
    np.add.at(means, y, x)
    means /= n[:, None]
    mu = means.mean(0)
    dev = x - means[y]
    scatter, m = dev.T @ dev, means - mu
    w = b = np.eye(x.shape[1])
    for _ in range(int(iters)):
        w_inv, b_inv = np.linalg.inv(w), np.linalg.inv(b)
        b_stats, w_stats = np.zeros_like(w), scatter.copy()
        for c in np.unique(n):
            mc = m[n == c]
            v = np.linalg.inv(b_inv + c * w_inv)
            z = c * mc @ w_inv @ v  # posterior means of the speaker variables
            b_stats += len(mc) * v + z.T @ z
            w_stats += c * (len(mc) * v + (mc - z).T @ (mc - z))
        w, b = w_stats / len(x), b_stats / len(n)
    c_inv = np.linalg.inv(np.linalg.cholesky(w))
    psi, u = np.linalg.eigh(c_inv @ b @ c_inv.T)
    np.savez(out, mean=mu, transform=u[:, ::-1].T @ c_inv, psi=np.maximum(psi[::-1], 0))


def plda_score(model, enroll_scp, test_scp, trials, out):
    z = np.load(model)
    mean, t, psi = z["mean"], z["transform"], z["psi"]
    (epos, enr), (tpos, tst) = load(enroll_scp), load(test_scp)
    enr, tst = (enr - mean) @ t.T, (tst - mean) @ t.T
    a, c = psi / (psi + 1), 1 + psi / (psi + 1)  # one enrollment utterance per enroll id
    const = 0.5 * (np.log(1 + psi).sum() - np.log(c).sum())
    e, tt, _ = read3(trials)
    ei = np.array([epos[x] for x in e])
    ti = np.array([tpos[x] for x in tt])
    s = []
    for i in range(0, len(ei), 100_000):
        v, u = enr[ei[i:i + 100_000]], tst[ti[i:i + 100_000]]
        s.append(const - 0.5 * (((u - a * v) ** 2) / c).sum(1) + 0.5 * (u * u / (1 + psi)).sum(1))
    write(out, e, tt, np.concatenate(s))


if __name__ == "__main__":
    steps = {"cosine": cosine, "asnorm": asnorm, "metrics": metrics, "plda-train": plda_train,
             "plda-score": plda_score}
    if len(sys.argv) < 2 or sys.argv[1] not in steps:
        sys.exit(__doc__)
    steps[sys.argv[1]](*sys.argv[2:])
