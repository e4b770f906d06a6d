"""The interactive layer, built on :mod:`vaelib.plots` and models that already exist (nothing here trains).

    explorer       chapter 07's beta explorer: views rendered beforehand, switched by sliders
    decoders       the latent navigator and the reconstruction sampler, decoding in the reader's browser
"""

from vaelib.widgets.explorer import (  # noqa: F401
    BETA_EXPLORER_BETAS, BetaExplorer, SnapshotView, beta_explorer, explorer_pngs, explorer_views, render_views,
    snapshot_view, view_figure,
)
from vaelib.widgets.decoders import (  # noqa: F401
    DECODER_JS, FLOAT16_TOLERANCE, DecoderWeights, LatentNavigator, ReconstructionSampler, decode_dense,
    decoder_weights, latent_navigator, pack_floats, reconstruction_sampler, rounded_decoder, rounded_weights,
    unpack_floats,
)
