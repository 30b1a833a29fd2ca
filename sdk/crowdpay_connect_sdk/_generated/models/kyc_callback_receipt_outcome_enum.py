from enum import StrEnum


class KycCallbackReceiptOutcomeEnum(StrEnum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"
    IGNORED = "ignored"

    def __str__(self) -> str:
        return str(self.value)
