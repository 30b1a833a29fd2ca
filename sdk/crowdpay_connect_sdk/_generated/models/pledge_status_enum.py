from enum import StrEnum


class PledgeStatusEnum(StrEnum):
    CAPTURED = "CAPTURED"
    HELD = "HELD"
    RELEASED = "RELEASED"

    def __str__(self) -> str:
        return str(self.value)
