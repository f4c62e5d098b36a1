from enum import StrEnum

class ActorType(StrEnum):
    API_KEY = "API_KEY"
    USER = "USER"

    def __str__(self) -> str:
        return str(self.value)
