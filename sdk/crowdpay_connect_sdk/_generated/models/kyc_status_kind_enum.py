from enum import StrEnum


class KycStatusKindEnum(StrEnum):
    BUSINESS = "BUSINESS"
    PERSON = "PERSON"

    def __str__(self) -> str:
        return str(self.value)
