from enum import StrEnum


class KycStatusStatusEnum(StrEnum):
    NEEDS_REVIEW = "NEEDS_REVIEW"
    PENDING = "PENDING"
    REJECTED = "REJECTED"
    UNVERIFIED = "UNVERIFIED"
    VERIFIED = "VERIFIED"

    def __str__(self) -> str:
        return str(self.value)
