"""A fully spiking VAE (FSVAE) with the TCJA paper's decoder variant, and sample-quality
metrics (chapter 6)."""
from .fsvae import SpikingVAE, VAEOutput, as_images, fit_vae, fsvae_lif, membrane_readout, mmd_squared, psp, sample_spikes
from .metrics import (ProxyClassifier, classifier_frechet_distance, classifier_inception_score, frechet_distance,
                      inception_metrics, train_proxy_classifier)

__all__ = ["SpikingVAE", "VAEOutput", "as_images", "fit_vae", "fsvae_lif", "membrane_readout", "mmd_squared", "psp", "sample_spikes",
           "ProxyClassifier", "train_proxy_classifier", "classifier_inception_score", "frechet_distance",
           "classifier_frechet_distance", "inception_metrics"]
