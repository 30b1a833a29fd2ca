from enum import StrEnum


class WalletStatusEnum(StrEnum):
    ACTIVE = "ACTIVE"
    CLOSED = "CLOSED"
    FROZEN = "FROZEN"

    def __str__(self) -> str:
        return str(self.value)
