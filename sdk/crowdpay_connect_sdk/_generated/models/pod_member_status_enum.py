from enum import StrEnum


class PodMemberStatusEnum(StrEnum):
    ACTIVE = "ACTIVE"
    INVITED = "INVITED"
    LEFT = "LEFT"
    REMOVED = "REMOVED"

    def __str__(self) -> str:
        return str(self.value)
