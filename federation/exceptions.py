"""Exceptions raised by the federation package."""


class FederationError(Exception):
    """Base class for federation errors."""


class CanonicalJSONError(FederationError, ValueError):
    """A value cannot be encoded as Matrix canonical JSON."""


class SignatureError(FederationError):
    """A signature is missing, malformed or does not verify."""


class XMatrixError(FederationError, ValueError):
    """An X-Matrix Authorization header is malformed."""
