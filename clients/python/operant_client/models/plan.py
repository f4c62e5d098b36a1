from enum import StrEnum

class Plan(StrEnum):
    FREE = "FREE"
    PRO = "PRO"

    def __str__(self) -> str:
        return str(self.value)
