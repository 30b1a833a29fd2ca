from enum import StrEnum


class PodOutflowDataVia(StrEnum):
    ALLOWANCE = "allowance"
    QUORUM = "quorum"

    def __str__(self) -> str:
        return str(self.value)
