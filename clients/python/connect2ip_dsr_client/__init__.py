
""" A client library for accessing Connect2IP data subject request service """
from .client import AuthenticatedClient, Client

__all__ = (
    "AuthenticatedClient",
    "Client",
)
