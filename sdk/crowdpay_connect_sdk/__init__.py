"""CrowdPay Connect wallet SDK: an async client for the wallet service's REST API.

`crowdpay_connect_sdk.wallet.WalletClient` is the facade most callers want; its models are in
`crowdpay_connect_sdk.models`, its exceptions in `crowdpay_connect_sdk.errors`. The low-level client
in `crowdpay_connect_sdk._generated` is generated from the service's OpenAPI schema (`make sdk`).
"""

__version__ = "0.1.0"

from .errors import CrowdPayError
from .wallet import OperationHandle, RetryPolicy, WalletClient

__all__ = ["CrowdPayError", "OperationHandle", "RetryPolicy", "WalletClient", "__version__"]
