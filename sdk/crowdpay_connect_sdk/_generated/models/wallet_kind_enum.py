from enum import StrEnum


class WalletKindEnum(StrEnum):
    POD = "POD"
    USER = "USER"

    def __str__(self) -> str:
        return str(self.value)
