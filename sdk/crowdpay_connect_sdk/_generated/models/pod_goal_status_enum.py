from enum import StrEnum


class PodGoalStatusEnum(StrEnum):
    CAPTURING = "CAPTURING"
    EXPIRED = "EXPIRED"
    OPEN = "OPEN"
    REACHED = "REACHED"
    REFUNDED = "REFUNDED"

    def __str__(self) -> str:
        return str(self.value)
