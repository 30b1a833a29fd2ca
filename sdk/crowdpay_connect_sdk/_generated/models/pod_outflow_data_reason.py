from enum import StrEnum


class PodOutflowDataReason(StrEnum):
    EXPIRED = "expired"
    POD_DISSOLVED = "pod_dissolved"
    REJECTED = "rejected"

    def __str__(self) -> str:
        return str(self.value)
