"""API input and output schemas (pydantic): validation and the OpenAPI document."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (AfterValidator, BaseModel, ConfigDict, EmailStr, Field, StringConstraints, ValidationInfo,
                      field_validator, model_validator)

from app.members.contact import normalise_phone
from app.members.password_rules import MAX_LENGTH, MIN_LENGTH, password_problem, refuse_common
from app.models.announcement import BODY_MAX_LENGTH as ANNOUNCEMENT_BODY_MAX, SUBJECT_MAX_LENGTH
from app.models.post import BODY_MAX_LENGTH, TITLE_MAX_LENGTH
from app.announcements.schemas import (AnnouncementAccepted, AnnouncementCounts, AnnouncementFailure,  # noqa: F401
                                       AnnouncementOut, AnnouncementRetried)  # (the answers' shapes live with their feature)
from app.posts.schemas import AuthorOut, PostOut, PostPage  # noqa: F401
from app.text_rules import DISPLAY_NAME, MULTI_LINE, SINGLE_LINE

Title = Annotated[str, Field(min_length=1, max_length=TITLE_MAX_LENGTH), *SINGLE_LINE]
Body = Annotated[str, Field(min_length=1, max_length=BODY_MAX_LENGTH), *MULTI_LINE]
# A password is kept exactly as typed (the models strip other strings): the form does not trim either.
NewPassword = Annotated[str, StringConstraints(strip_whitespace=False), Field(min_length=MIN_LENGTH, max_length=MAX_LENGTH),
                        AfterValidator(refuse_common)]
AnyPassword = Annotated[str, StringConstraints(strip_whitespace=False), Field(min_length=1, max_length=128)]
Name = Annotated[str, Field(min_length=1, max_length=100), *DISPLAY_NAME]
# A mobile number in any common spelling; validated and turned into E.164 (PHONE_DEFAULT_REGION).
Phone = Annotated[str, Field(min_length=1, max_length=32, examples=["010-1234-5678"]),
                  AfterValidator(normalise_phone)]
Channel = Literal["sms", "email"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class PostCreate(Strict):
    title: Title
    body: Body


class PostUpdate(Strict):
    title: Title | None = None
    body: Body | None = None

    @model_validator(mode="after")
    def _something_to_change(self) -> "PostUpdate":
        if self.title is None and self.body is None:
            raise ValueError("give at least one of title, body")
        return self


class SignupRequest(Strict):
    email: EmailStr
    name: Name
    password: NewPassword
    phone: Phone
    channel: Channel = Field(description="where the verification code goes: sms or email")

    @field_validator("password")
    @classmethod
    def _password_not_from_context(cls, password: str, info: ValidationInfo) -> str:
        problem = password_problem(password, email=info.data.get("email"), name=info.data.get("name"))
        if problem:
            raise ValueError(problem)
        return password


class LoginRequest(Strict):
    email: EmailStr
    password: AnyPassword


class PasswordChange(Strict):
    current_password: AnyPassword
    password: NewPassword = Field(description="the new password: 8 to 128 characters, not a common one")


class PasswordResetRequest(Strict):
    email: EmailStr


class PasswordResetConfirm(Strict):
    token: Annotated[str, Field(min_length=1, max_length=500, description="from the link in the mail")]
    password: NewPassword


class UserOut(BaseModel):
    id: int
    email: str
    name: str
    is_admin: bool
    phone: str | None = None
    notification_channel: Channel = "email"
    email_verified: bool = False
    phone_verified: bool = False
    is_verified: bool = False


class AuthAnswer(BaseModel):
    user: UserOut
    message: str | None = None


class ErrorDetail(BaseModel):
    field: str
    message: str


class ErrorOut(BaseModel):
    error: str
    status: int
    details: list[ErrorDetail] | None = None


# --- announcements ---


class AnnouncementCreate(Strict):
    subject: Annotated[str, Field(min_length=1, max_length=SUBJECT_MAX_LENGTH), *SINGLE_LINE]
    body: Annotated[str, Field(min_length=1, max_length=ANNOUNCEMENT_BODY_MAX), *MULTI_LINE]
