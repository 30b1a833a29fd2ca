from enum import StrEnum


class NextStepEnum(StrEnum):
    NONE = "none"
    RESUBMIT = "resubmit"
    SUBMIT = "submit"
    WAIT = "wait"

    def __str__(self) -> str:
        return str(self.value)
