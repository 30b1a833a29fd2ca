from enum import StrEnum


class OperationKindEnum(StrEnum):
    FUNDING = "FUNDING"
    TRANSFER = "TRANSFER"
    WITHDRAW = "WITHDRAW"

    def __str__(self) -> str:
        return str(self.value)
