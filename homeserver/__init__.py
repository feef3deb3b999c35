"""A federated, self-hosted live audio rooms homeserver speaking the Matrix APIs."""
__version__ = "0.1.0"
