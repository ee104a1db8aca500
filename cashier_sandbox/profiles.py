"""The sandbox's gateway profiles: how it wants messages carried (``tif``, ``xca``, ``sm4``).

``cashier sandbox --profile sm4`` serves with the demo keys below, and a training station on
the ``sm4`` profile with no keys of its own uses the counter's half of them. They are
published here, so they protect nothing: a province issues real keys, and the configuration
holds them (docs/insurer.md, "Province profiles").
"""

from __future__ import annotations

from dataclasses import dataclass

from cashier.insurer import protocol

#: The demo SM4 key and SM2 key pairs (the counter's, the gateway's).
DEMO_SM4_KEY = "44BF5055FD9E857C5CFED6333FE93681"
DEMO_COUNTER_KEYPAIR = (
    "c704ff2e4661f958f6e42abef12bedd3d0c4a9ed2095043d8d0fd42dc3e2a43e",
    "2f63a61984bba45e55a6011a970b8c7ba1b450697b75362ad8e3a342ac0717ed"
    "ed0e2719afd463914997a38442bda6a36978b08c372445e24382936b5c0ec8ac",
)
DEMO_GATEWAY_KEYPAIR = (
    "e54e66c3e002ca884cfd5775756f4591be8e7159352449e5f4f0aac6fe347c3f",
    "334d6987f4cb6f30ef85451f4a10b5461947e2a4eaa452a14de22f7e4598b011"
    "8e74b46d2034c1261ce445c22d53bd84ef7c12e02c8df7158498b5c050998c0c",
)
#: The demo x-ca key and secret.
DEMO_XCA_KEY, DEMO_XCA_SECRET = "cashier-sandbox", "sandbox-xca-secret"


def demo_counter_keys() -> protocol.Sm4Keys:
    """The counter's side of the demo sm4 keys."""
    private, public = DEMO_COUNTER_KEYPAIR
    return protocol.Sm4Keys(DEMO_SM4_KEY, private, public, DEMO_GATEWAY_KEYPAIR[1])


def demo_gateway_keys() -> protocol.Sm4Keys:
    private, public = DEMO_GATEWAY_KEYPAIR
    return protocol.Sm4Keys(DEMO_SM4_KEY, private, public, DEMO_COUNTER_KEYPAIR[1])


@dataclass(frozen=True)
class GatewayProfile:
    """What the sandbox checks and how it answers: the profile and its gateway-side keys."""

    kind: str = "tif"  # tif | xca | sm4
    paasid: str = ""  # tif, when a secret is set
    secret: str = ""
    xca_key: str = DEMO_XCA_KEY
    xca_secret: str = DEMO_XCA_SECRET
    sm4: protocol.Sm4Keys | None = None  # the gateway's side

    def __post_init__(self) -> None:
        if self.kind not in ("tif", "xca", "sm4"):
            raise ValueError(f"profile must be tif, xca or sm4, not {self.kind!r}")
        if self.kind == "sm4" and self.sm4 is None:
            object.__setattr__(self, "sm4", demo_gateway_keys())
