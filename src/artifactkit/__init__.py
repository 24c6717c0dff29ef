"""artifactkit: a typed SDK for the Weights & Biases artifacts API."""

__version__ = "0.1.0"
