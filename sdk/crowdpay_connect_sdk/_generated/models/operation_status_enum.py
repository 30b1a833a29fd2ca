from enum import StrEnum


class OperationStatusEnum(StrEnum):
    FAILED = "FAILED"
    IN_REVIEW = "IN_REVIEW"
    PENDING = "PENDING"
    SUCCEEDED = "SUCCEEDED"

    def __str__(self) -> str:
        return str(self.value)
