"""The interactive layer, driven from Python: sliders moved, buttons clicked, content compared with vaelib."""

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

import base64  # noqa: E402
import zlib  # noqa: E402

import keras  # noqa: E402
import traitlets  # noqa: E402
from ipywidgets import embed  # noqa: E402

from vaelib._runtime import cache  # noqa: E402
from vaelib import widgets as W  # noqa: E402
from vaelib.widgets import explorer  # noqa: E402
from vaelib.widgets.explorer import figure_png as view_png  # noqa: E402
from vaelib.models.networks import VAE  # noqa: E402
from vaelib.models.training import TrainConfig, TrainResult  # noqa: E402

def snapshot_result(beta, epochs, seed=0):
    """A TrainResult as the cache returns it, its snapshots random initial weights (one per epoch, all different):
    the explorer only reads snapshots, and building them this way takes milliseconds (training is tested elsewhere)."""
    config = TrainConfig(beta=beta, hidden_units=(16,), epochs=max(epochs), snapshot_epochs=epochs)
    snapshots = {}
    for epoch in epochs:
        keras.utils.set_random_seed(seed + 10 * epoch + int(beta))
        snapshots[epoch] = config.build_model().get_weights()
    return TrainResult(config, {}, snapshots, 0.0, from_cache=True)


@pytest.fixture(scope="module")
def results():
    """Two "models" (beta 0 and 5) with snapshots after epochs 1 and 2."""
    return {b: snapshot_result(b, (1, 2)) for b in (0.0, 5.0)}


@pytest.fixture(scope="module")
def explorer_inputs(small_images):
    x_test = small_images[1]
    labels = np.arange(len(x_test)) % 10
    z_prior = np.random.default_rng(0).standard_normal((9, 2))
    return x_test, labels, x_test[:6], z_prior


@pytest.fixture(scope="module")
def pngs(results, explorer_inputs):
    x_test, labels, shown, z_prior = explorer_inputs
    return W.render_views(W.explorer_views(results, x_test, shown, z_prior), labels, shown)


@pytest.fixture(scope="module")
def vae():
    keras.utils.set_random_seed(0)
    model = VAE(hidden_units=(16,))
    model(np.zeros((1, 784), np.float32))
    return model


def expected_png(results, explorer_inputs, beta, epoch):
    # the explorer's view computed directly from the cached model at that snapshot
    x_test, labels, shown, z_prior = explorer_inputs
    view = W.snapshot_view(results[beta].model(epoch), x_test, shown, z_prior)
    return view_png(W.view_figure(view, labels, shown, title=f"β = {beta:g}, after epoch {epoch}"))


@pytest.mark.parametrize("static", [True, False])
def test_beta_explorer_shows_the_chosen_model(results, explorer_inputs, pngs, static):
    explorer = W.beta_explorer(pngs, static=static)
    assert explorer.betas == [0.0, 5.0] and explorer.epochs == [1, 2]
    assert explorer.displayed == expected_png(results, explorer_inputs, 0.0, 2)  # starts at the first beta, last epoch
    explorer.beta_slider.value = 5.0
    assert explorer.displayed == expected_png(results, explorer_inputs, 5.0, 2)
    explorer.epoch_slider.value = 1
    assert explorer.displayed == expected_png(results, explorer_inputs, 5.0, 1)
    explorer.select(0.0, 1)
    assert explorer.displayed == pngs[0.0, 1] != pngs[5.0, 1]
    assert all(len(png) < 60_000 for png in pngs.values())


def test_static_explorer_links_sliders_to_stacks_in_the_browser(pngs):
    explorer = W.beta_explorer(pngs, static=True)
    assert "vaelib-beta-slider" in explorer.beta_slider._dom_classes and explorer.beta_slider.description == "β"
    beta_links = [link for link in explorer.links if link.source[0] is explorer.beta_slider]
    assert [link.target[0] for link in beta_links] == explorer.stacks
    assert all(link.source[1] == "index" and link.target[1] == "selected_index" for link in explorer.links)
    epoch_link, = [link for link in explorer.links if link.source[0] is explorer.epoch_slider]
    assert epoch_link.target[0] is explorer.view
    for stack, epoch in zip(explorer.stacks, explorer.epochs):
        assert [bytes(image.value) for image in stack.children] == [pngs[b, epoch] for b in explorer.betas]
        assert all("vaelib-beta-view" in image._dom_classes for image in stack.children)
    # the state a static page needs: the links and every image are in the embeddable widget state
    state = embed.embed_data(views=[explorer])["manager_state"]["state"]
    ours = {f"IPY_MODEL_{w.model_id}" for w in (explorer.beta_slider, explorer.epoch_slider)}
    links = [e["state"] for e in state.values() if e["model_name"] == "LinkModel" and e["state"]["source"][0] in ours]
    assert len(links) == len(explorer.links)
    for stack in explorer.stacks:
        for image in stack.children:  # the PNG travels as a base64 buffer of the image's "value"
            buffer, = state[image.model_id]["buffers"]
            assert buffer["path"] == ["value"] and len(buffer["data"]) > 1000


def test_explorer_views_cope_with_fewer_snapshots(results, explorer_inputs):
    x_test, _, shown, z_prior = explorer_inputs
    short = snapshot_result(1.0, (1,))  # e.g. a smoke run with epochs=1
    views = W.explorer_views({**results, 1.0: short}, x_test, shown, z_prior)
    assert sorted(views) == [(0.0, 1), (1.0, 1), (5.0, 1)]  # only the epoch every model has
    view = views[5.0, 1]
    decoded = results[5.0].model(1).decode(z_prior.astype(np.float32))
    np.testing.assert_allclose(view.prior_images, np.clip(decoded, 0, 1), atol=1e-6)


def test_explorer_pngs_reads_back_what_it_rendered(results, explorer_inputs, pngs, tmp_path, forbid):
    import matplotlib.pyplot as plt

    x_test, labels, shown, z_prior = explorer_inputs
    draw = lambda **changes: W.explorer_pngs(results, x_test, labels, shown, z_prior,  # noqa: E731
                                             **{"cache_dir": tmp_path, **changes})
    assert draw(use_cache=False) == pngs and not cache.entries(tmp_path)
    assert draw() == pngs and len(cache.entries(tmp_path)) == 1

    restore = forbid(explorer, "render_views")
    assert draw() == pngs
    with pytest.raises(AssertionError, match="ran again"):  # another resolution: another entry
        draw(dpi=50)
    other_style = {"axes.grid": not plt.rcParams["axes.grid"]}
    with pytest.raises(AssertionError, match="ran again"), plt.rc_context(other_style):
        draw()
    with pytest.raises(AssertionError, match="ran again"):  # other weights
        changed = {**results, 5.0: snapshot_result(5.0, (1, 2), seed=1)}
        W.explorer_pngs(changed, x_test, labels, shown, z_prior, cache_dir=tmp_path)

    # a corrupt entry is reported, discarded and rendered again, never used
    (entry,) = cache.entries(tmp_path)
    stored = entry / "pngs.npz"
    stored.write_bytes(stored.read_bytes()[:-10])
    restore()
    with pytest.warns(RuntimeWarning, match="rendering again"):
        assert draw() == pngs


def test_explorer_pngs_bad_input(results, explorer_inputs):
    x_test, labels, shown, z_prior = explorer_inputs
    with pytest.raises(TypeError, match="results must be a non-empty mapping"):
        W.explorer_pngs({}, x_test, labels, shown, z_prior, use_cache=False)
    with pytest.raises(ValueError, match="labels"):
        W.explorer_pngs(results, x_test, labels[:-1], shown, z_prior, use_cache=False)
    with pytest.raises(ValueError, match="dpi"):
        W.explorer_pngs(results, x_test, labels, shown, z_prior, dpi=5, use_cache=False)



def front_end_update(widget, **state):
    """Deliver ``state`` to ``widget`` as the page's front end does in a live kernel (a comm "update")."""
    widget._handle_msg({"content": {"data": {"method": "update", "state": state, "buffer_paths": []}},  # noqa: SLF001
                        "buffers": []})


def keras_decode(model, z):
    """Keras's pixels for ``z`` with the weights the page decodes with (float16-rounded: W.rounded_decoder)."""
    return np.asarray(keras.ops.sigmoid(W.rounded_decoder(model)(np.asarray(z, np.float32).reshape(-1, 2))))


def test_latent_navigator_decodes_the_chosen_point(vae):
    codes = np.random.default_rng(1).standard_normal((300, 2))
    navigator = W.latent_navigator(vae, codes, np.arange(300) % 10, limit=3.0)
    assert navigator.z == [0.0, 0.0] and navigator.kind == "navigator"
    navigator.move_to(1.5, -0.5)
    assert navigator.z == [1.5, -0.5] and navigator.get_state()["z"] == [1.5, -0.5]
    np.testing.assert_allclose(navigator.decoded, keras_decode(vae, [1.5, -0.5])[0], atol=1e-5)
    navigator.z = [1.5, 2.0]  # the trait itself, as a notebook cell or the page sets it
    np.testing.assert_allclose(navigator.decoded, keras_decode(vae, [1.5, 2.0])[0], atol=1e-5)
    front_end_update(navigator, z=[-2.25, 0.75])  # a drag in the page, arriving in the kernel
    assert tuple(navigator.point) == (-2.25, 0.75)
    np.testing.assert_allclose(navigator.decoded, keras_decode(vae, [-2.25, 0.75])[0], atol=1e-5)


def test_latent_navigator_switches_model(vae):
    keras.utils.set_random_seed(1)
    other = VAE(hidden_units=(16,))
    other(np.zeros((1, 784), np.float32))
    codes = np.random.default_rng(2).standard_normal((100, 2))
    navigator = W.latent_navigator({"β = 1": vae, "β = 5": other}, {"β = 1": codes, "β = 5": codes * 10},
                                   np.arange(100) % 10, z=(0.5, 0.5))
    assert navigator.choices == ["β = 1", "β = 5"] and navigator.selected == "β = 1"
    assert navigator.limit == 3.0 and navigator.limits[1] > 20  # each model gets a range for its codes
    np.testing.assert_allclose(navigator.decoded, keras_decode(vae, [0.5, 0.5])[0], atol=1e-5)
    navigator.select("β = 5")
    np.testing.assert_allclose(navigator.decoded, keras_decode(other, [0.5, 0.5])[0], atol=1e-5)
    assert not np.allclose(navigator.decoded, keras_decode(vae, [0.5, 0.5])[0])
    navigator.move_to(15.0, -12.0)  # beyond the first model's range, inside this one's
    np.testing.assert_allclose(navigator.decoded, keras_decode(other, [15.0, -12.0])[0], atol=1e-5)
    front_end_update(navigator, selected="β = 1")  # the page's menu: the point is clipped into the range
    assert navigator.limit == 3.0 and navigator.z == [3.0, -3.0]
    np.testing.assert_allclose(navigator.decoded, keras_decode(vae, [3.0, -3.0])[0], atol=1e-5)


def test_navigator_state_holds_what_the_page_needs(vae):
    codes = np.random.default_rng(3).standard_normal((50, 2))
    labels = np.arange(50) % 10
    navigator = W.latent_navigator({"a": vae, "b": vae}, {"a": codes, "b": -codes}, labels, n_points=40)
    state = embed.embed_data(views=[navigator])["manager_state"]["state"]
    own = state[navigator.model_id]
    assert own["model_module"] == "anywidget" and navigator.get_state()["_esm"] == W.DECODER_JS.read_text()
    refs = own["state"]["decoders"]
    assert refs == [f"IPY_MODEL_{navigator.decoders[0].model_id}"] * 2  # one model, its weights stored once
    holder = state[refs[0][len("IPY_MODEL_"):]]
    assert holder["model_name"] == "WidgetModel" and holder["model_module"] == "@jupyter-widgets/base"
    (weights,) = holder["buffers"]
    assert weights["path"] == ["weights"]
    flat = W.unpack_floats(base64.b64decode(weights["data"]))
    np.testing.assert_array_equal(flat, np.concatenate([w.reshape(-1) for w in W.rounded_weights(vae.decoder.get_weights())]))
    assert navigator.decoders[0].encoding == "float16 little-endian, byte-shuffled, zlib"
    buffers = {tuple(b["path"]): base64.b64decode(b["data"]) for b in own["buffers"]}
    np.testing.assert_array_equal(np.frombuffer(buffers["codes", 1], "<f4").reshape(-1, 2), (-codes[:40]).astype(np.float32))
    np.testing.assert_array_equal(np.frombuffer(buffers["labels",], np.uint8), labels[:40])


def test_reconstruction_sampler_draws_again(vae, small_images):
    images = small_images[1][:4]
    sampler = W.reconstruction_sampler(vae, images, n_draws=200, seed=3)
    assert sampler.kind == "sampler" and sampler.n_images == 4 and sampler.index == 0
    first = sampler.draws.copy()
    sampler.resample()  # what "encode again" does
    assert sampler.draws.shape == (200, 2) and not np.allclose(sampler.draws, first)
    np.testing.assert_allclose(sampler.decoded, keras_decode(vae, sampler.draws), atol=1e-5)
    mu, log_var = (np.asarray(a, np.float64)[0] for a in vae.encode(images[:1]))
    np.testing.assert_allclose(sampler.mu[0], mu, rtol=1e-6)
    np.testing.assert_allclose(sampler.sigma[0], np.exp(0.5 * log_var), rtol=1e-6)
    # 200 draws from N(mu, sigma^2): the sample mean lies within 5 standard errors of mu per axis
    assert np.all(np.abs(sampler.draws.mean(axis=0) - mu) < 5 * np.exp(0.5 * log_var) / np.sqrt(200))
    sampler.choose(2)
    mu2, log_var2 = (np.asarray(a, np.float64)[0] for a in vae.encode(images[2:3]))
    assert sampler.index == 2 and sampler.get_state()["index"] == 2
    assert np.all(np.abs(sampler.draws.mean(axis=0) - mu2) < 5 * np.exp(0.5 * log_var2) / np.sqrt(200))
    assert sampler.spread["mean_pixel_std"] > 0 and "mean per-pixel standard deviation" in sampler.summary
    # draws made in the page (its button) arrive in the kernel; the decodings follow them
    page_draws = (np.asarray(sampler.mu[1]) + 0.1 * np.ones((200, 2))).tolist()
    front_end_update(sampler, index=1, draw_codes=page_draws)
    assert sampler.index == 1
    np.testing.assert_allclose(sampler.decoded, keras_decode(vae, page_draws), atol=1e-5)
    state = embed.embed_data(views=[sampler])["manager_state"]["state"][sampler.model_id]
    (stored,) = state["buffers"]
    np.testing.assert_array_equal(np.frombuffer(base64.b64decode(stored["data"]), np.uint8).reshape(4, 784),
                                  np.round(255 * images).astype(np.uint8))
    assert state["state"]["decoder"] == f"IPY_MODEL_{W.decoder_weights(vae).model_id}"


def test_sampler_and_navigator_share_the_weights(vae, small_images):
    codes = np.zeros((10, 2))
    navigator = W.latent_navigator(vae, codes, np.zeros(10, int))
    sampler = W.reconstruction_sampler(vae, small_images[1][:2])
    assert sampler.decoder is navigator.decoders[0]


def test_invalid_explorer_values(pngs):
    explorer = W.beta_explorer(pngs)
    with pytest.raises(ValueError, match=r"beta must be one of 0\.0, 5\.0; got 3\.0"):
        explorer.select(3.0, 1)
    with pytest.raises(ValueError, match=r"epoch must be one of 1, 2; got 7"):
        explorer.select(0.0, 7)
    with pytest.raises(ValueError, match=r"missing \[\(5\.0, 2\)\]"):
        W.beta_explorer({k: v for k, v in pngs.items() if k != (5.0, 2)})
    with pytest.raises(TypeError, match="pngs must be a non-empty mapping"):
        W.beta_explorer([])




def test_bad_navigator_point(vae):
    navigator = W.latent_navigator(vae, np.zeros((10, 2)), np.zeros(10, int), limit=3.0)
    with pytest.raises(ValueError, match=r"z1 must be <= 3\.0, got 5\.0"):
        navigator.move_to(5.0, 0.0)
    with pytest.raises(ValueError, match=r"z2 must be >= -3\.0, got -4\.0"):
        navigator.move_to(0.0, -4.0)
    with pytest.raises(ValueError, match=r"model must be one of 'model'; got 'β = 2'"):
        navigator.select("β = 2")
    with pytest.raises(traitlets.TraitError, match=r"z must be two finite numbers within \[-3, 3\] \(the plane of "
                                                   r"'model'\), got \[4\.0, 0\.0\]"):
        navigator.z = [4.0, 0.0]
    with pytest.raises(traitlets.TraitError, match=r"selected must be one of \['model'\], got 'other'"):
        navigator.selected = "other"
    with pytest.raises(ValueError, match=r"z_test\['model'\] must have 2 columns, got shape \(10, 3\)"):
        W.latent_navigator(vae, np.zeros((10, 3)), np.zeros(10, int))
    with pytest.raises(ValueError, match=r"labels"):
        W.latent_navigator(vae, np.zeros((10, 2)), np.zeros(9, int))
    with pytest.raises(ValueError, match=r"limit must be > 0\.0, got -1\.0"):
        W.latent_navigator(vae, np.zeros((10, 2)), np.zeros(10, int), limit=-1.0)


def test_bad_decoder():
    conv = keras.Sequential([keras.Input((2,)), keras.layers.Dense(784)])
    model = type("Fake", (), {"decoder": conv, "decode": None})()
    with pytest.raises(ValueError, match=r"dense decoders of a 2-D code only; this decoder's weights have shapes "
                                         r"\[\(2, 784\), \(784,\)\]"):
        W.decoder_weights(model)
    with pytest.raises(TypeError, match=r"model must be a vaelib Autoencoder or VAE \(with a decoder\), got str"):
        W.decoder_weights("vae")
    with pytest.raises(ValueError, match=r"packed floats must hold a multiple of 2 bytes \(float16\), got 3"):
        W.unpack_floats(zlib.compress(b"abc"))
    with pytest.raises(ValueError, match=r"weights must be finite and within \+-65504 to be stored as float16, "
                                         r"got an array with largest \|value\| 70000"):
        W.pack_floats([np.array([1.0, -70000.0], np.float32)])


def test_bad_sampler_arguments(vae, small_images):
    images = small_images[1][:4]
    with pytest.raises(ValueError, match=r"n_draws must be >= 2, got 1"):
        W.reconstruction_sampler(vae, images, n_draws=1)
    sampler = W.reconstruction_sampler(vae, images)
    with pytest.raises(ValueError, match=r"index must be <= 3, got 9"):
        sampler.choose(9)
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\]"):
        W.reconstruction_sampler(vae, images * 255)
