"""§4.2, figures 9-11 (chapter 08): how the KL term and its share of the loss move during training, judged."""

from __future__ import annotations

from collections.abc import Mapping

from vaelib._runtime.validation import check_beta, check_choice
from vaelib.claims.rules import FIRST_SHARE_MAX, Check, Claim, judged
from vaelib.measures import dynamics

CHAPTER = "08_loss_dynamics"


def share_checks(history: Mapping, beta: float, share: str = "unweighted", split: str = "train") -> dict:
    """The four statements of the report's reading of figures 10-11, on one curve of a history.

    Returns the KL share (``share``: see :func:`vaelib.measures.dynamics.kl_shares`) at the first and last
    epoch, the KL and reconstruction terms there, ``checks`` (the four statements as
    :class:`~vaelib.claims.rules.Check` records: the share below FIRST_SHARE_MAX, 1%, in epoch 1; from
    the first epoch to the last, K grows, the share grows, R falls) and each one's outcome as a
    boolean: ``low``, ``kl_up``, ``share_up``, ``rec_down``.
    """
    share = check_choice("share", share, dynamics.SHARES)
    values = dynamics.kl_shares(history, beta, split)[share]
    kl = dynamics.history_curve(history, split, "kl")
    rec = dynamics.history_curve(history, split, "reconstruction")
    name = "s" if share == "unweighted" else "s_β"
    checks = [Check(f"{name} in epoch 1", float(values[0]), "below", FIRST_SHARE_MAX),
              Check("K, last minus first epoch", dynamics.trend(kl), "above", 0.0),
              Check(f"{name}, last minus first epoch", dynamics.trend(values), "above", 0.0),
              Check("R, last minus first epoch", dynamics.trend(rec), "below", 0.0)]
    holds = {key: c.verdict == "reproduced" for key, c in zip(("low", "kl_up", "share_up", "rec_down"), checks)}
    return {"first": float(values[0]), "last": float(values[-1]), **holds, "checks": checks,
            "kl_first": float(kl[0]), "kl_last": float(kl[-1]), "rec_first": float(rec[0]), "rec_last": float(rec[-1])}


def claim_kl_share_dynamics(history: Mapping, beta: float, share: str = "unweighted") -> Claim:
    """The KL share starts below 1%; then R falls while K grows, in absolute and relative terms (figures 10-11).

    Four parts, on the training curves (the test curves are in ``values['test']``): the share below
    FIRST_SHARE_MAX (1%) in epoch 1, and from the first epoch to the last, K grows, the share grows
    and R falls (epoch averages over the whole training set, so no Monte Carlo error bar).
    """
    beta = check_beta(beta)
    train = share_checks(history, beta, share, "train")
    test = share_checks(history, beta, share, "test")
    name = "s" if share == "unweighted" else "s_β"
    checks = train.pop("checks")
    test.pop("checks")
    failed = [label for label, key in (("share < 1% at first", "low"), ("K grows", "kl_up"), ("share grows", "share_up"),
                                       ("R falls", "rec_down")) if not train[key]]
    return judged(
        f"share-{share}-{beta:g}", f"β = {beta:g}: the KL share ({name}) starts below 1%, then R falls while K grows "
        "in absolute and relative terms", "§4.2, figures 10-11", CHAPTER,
        f"{name}: {100 * train['first']:.3g}% -> {100 * train['last']:.3g}%; K {train['kl_first']:.3g} -> "
        f"{train['kl_last']:.3g}; R {train['rec_first']:.1f} -> {train['rec_last']:.1f}"
        + (f" (fails: {', '.join(failed)})" if failed else ""),
        f"training curves: share < {FIRST_SHARE_MAX:.0%} in epoch 1; K and the share grow and R falls from the first "
        "epoch to the last",
        checks, {"beta": beta, "share": share, "train": train, "test": test})


def claim_large_beta_kl_increases(history: Mapping, beta: float = 50.0) -> Claim:
    """With a large beta the KL term "increases rapidly" (the report's reading of figure 9).

    One part: the KL term of the training curve is larger in the last epoch than in the first (if
    it does not increase at all, it does not increase rapidly).
    """
    beta = check_beta(beta)
    kl = dynamics.history_curve(history, "train", "kl")
    return judged(
        "fig9-kl", f"With β = {beta:g} the KL term increases rapidly during training", "§4.2, figure 9", CHAPTER,
        f"K (nats) epoch 1: {kl[0]:.3g}, last epoch: {kl[-1]:.3g}", "K larger in the last epoch than in the first",
        [Check("K, last minus first epoch", dynamics.trend(kl), "above", 0.0)],
        {"kl_first": float(kl[0]), "kl_last": float(kl[-1])})
