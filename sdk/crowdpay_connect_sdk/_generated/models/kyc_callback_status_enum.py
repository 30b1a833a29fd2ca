from enum import StrEnum


class KycCallbackStatusEnum(StrEnum):
    NEEDS_REVIEW = "needs_review"
    PENDING = "pending"
    REJECTED = "rejected"
    VERIFIED = "verified"

    def __str__(self) -> str:
        return str(self.value)
