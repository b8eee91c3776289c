"""The official FSVAE (fully spiking VAE) layer for layer, with the TCJA paper's decoder variant,
and sample-quality metrics (chapter 6)."""
from .fsvae import (OFFICIAL, OFFICIAL_PARAMETERS, LatentNet, Posterior, Prior, SpikingVAE, VAEOutput, as_images,
                    fit_vae, fsvae_lif, membrane_readout, mmd_squared, pick, psp, random_picks, sample_spikes,
                    scheduled_p)
from .layers import FSVAELIF, TdBatchNorm, TdLayer, fsvae_spike, td_conv, td_conv_transpose, td_linear
from .metrics import (ProxyClassifier, classifier_frechet_distance, classifier_inception_score, frechet_distance,
                      inception_metrics, train_proxy_classifier)

__all__ = ["SpikingVAE", "VAEOutput", "OFFICIAL", "OFFICIAL_PARAMETERS", "LatentNet", "Posterior", "Prior",
           "as_images", "fit_vae", "fsvae_lif", "membrane_readout", "mmd_squared", "psp", "pick", "random_picks",
           "sample_spikes", "scheduled_p", "FSVAELIF", "TdBatchNorm", "TdLayer", "fsvae_spike", "td_conv",
           "td_conv_transpose", "td_linear",
           "ProxyClassifier", "train_proxy_classifier", "classifier_inception_score", "frechet_distance",
           "classifier_frechet_distance", "inception_metrics"]
