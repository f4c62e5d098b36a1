""" Contains all the data models used in inputs/outputs """

from .accept_invitation_body import AcceptInvitationBody
from .accepted_invitation_response import AcceptedInvitationResponse
from .actor_type import ActorType
from .api_error_body import ApiErrorBody
from .api_key_response import ApiKeyResponse
from .audit_event_response import AuditEventResponse
from .audit_event_response_details import AuditEventResponseDetails
from .change_password_body import ChangePasswordBody
from .create_api_key_body import CreateApiKeyBody
from .create_api_key_body_role import CreateApiKeyBodyRole
from .create_invitation_body import CreateInvitationBody
from .create_invitation_body_role import CreateInvitationBodyRole
from .create_organization_body import CreateOrganizationBody
from .create_project_body import CreateProjectBody
from .create_task_body import CreateTaskBody
from .create_webhook_body import CreateWebhookBody
from .created_api_key_response import CreatedApiKeyResponse
from .event_actor import EventActor
from .event_page import EventPage
from .event_response import EventResponse
from .event_response_data import EventResponseData
from .feature_response import FeatureResponse
from .field_error import FieldError
from .health_response import HealthResponse
from .health_response_services import HealthResponseServices
from .invitation_response import InvitationResponse
from .invitation_status import InvitationStatus
from .jwk_response import JwkResponse
from .jwks_response import JwksResponse
from .limits_response import LimitsResponse
from .login_body import LoginBody
from .member_response import MemberResponse
from .message_response import MessageResponse
from .organization_response import OrganizationResponse
from .page_api_key_response import PageApiKeyResponse
from .page_api_key_response_items_item import PageApiKeyResponseItemsItem
from .page_audit_event_response import PageAuditEventResponse
from .page_audit_event_response_items_item import PageAuditEventResponseItemsItem
from .page_audit_event_response_items_item_details import PageAuditEventResponseItemsItemDetails
from .page_invitation_response import PageInvitationResponse
from .page_invitation_response_items_item import PageInvitationResponseItemsItem
from .page_member_response import PageMemberResponse
from .page_member_response_items_item import PageMemberResponseItemsItem
from .page_organization_response import PageOrganizationResponse
from .page_organization_response_items_item import PageOrganizationResponseItemsItem
from .page_project_response import PageProjectResponse
from .page_project_response_items_item import PageProjectResponseItemsItem
from .page_task_response import PageTaskResponse
from .page_task_response_items_item import PageTaskResponseItemsItem
from .page_webhook_delivery_response import PageWebhookDeliveryResponse
from .page_webhook_delivery_response_items_item import PageWebhookDeliveryResponseItemsItem
from .page_webhook_response import PageWebhookResponse
from .page_webhook_response_items_item import PageWebhookResponseItemsItem
from .password_reset_confirm_body import PasswordResetConfirmBody
from .password_reset_request_body import PasswordResetRequestBody
from .plan import Plan
from .project_response import ProjectResponse
from .refresh_token_body import RefreshTokenBody
from .register_body import RegisterBody
from .role import Role
from .session_response import SessionResponse
from .subscription_response import SubscriptionResponse
from .task_priority import TaskPriority
from .task_response import TaskResponse
from .task_status import TaskStatus
from .token_body import TokenBody
from .token_response import TokenResponse
from .transfer_ownership_body import TransferOwnershipBody
from .update_me_body import UpdateMeBody
from .update_member_body import UpdateMemberBody
from .update_organization_body import UpdateOrganizationBody
from .update_project_body import UpdateProjectBody
from .update_subscription_body import UpdateSubscriptionBody
from .update_task_body import UpdateTaskBody
from .update_webhook_body import UpdateWebhookBody
from .usage_response import UsageResponse
from .user_response import UserResponse
from .webhook_delivery_response import WebhookDeliveryResponse
from .webhook_response import WebhookResponse
from .webhook_with_secret_response import WebhookWithSecretResponse

__all__ = (
    "AcceptedInvitationResponse",
    "AcceptInvitationBody",
    "ActorType",
    "ApiErrorBody",
    "ApiKeyResponse",
    "AuditEventResponse",
    "AuditEventResponseDetails",
    "ChangePasswordBody",
    "CreateApiKeyBody",
    "CreateApiKeyBodyRole",
    "CreatedApiKeyResponse",
    "CreateInvitationBody",
    "CreateInvitationBodyRole",
    "CreateOrganizationBody",
    "CreateProjectBody",
    "CreateTaskBody",
    "CreateWebhookBody",
    "EventActor",
    "EventPage",
    "EventResponse",
    "EventResponseData",
    "FeatureResponse",
    "FieldError",
    "HealthResponse",
    "HealthResponseServices",
    "InvitationResponse",
    "InvitationStatus",
    "JwkResponse",
    "JwksResponse",
    "LimitsResponse",
    "LoginBody",
    "MemberResponse",
    "MessageResponse",
    "OrganizationResponse",
    "PageApiKeyResponse",
    "PageApiKeyResponseItemsItem",
    "PageAuditEventResponse",
    "PageAuditEventResponseItemsItem",
    "PageAuditEventResponseItemsItemDetails",
    "PageInvitationResponse",
    "PageInvitationResponseItemsItem",
    "PageMemberResponse",
    "PageMemberResponseItemsItem",
    "PageOrganizationResponse",
    "PageOrganizationResponseItemsItem",
    "PageProjectResponse",
    "PageProjectResponseItemsItem",
    "PageTaskResponse",
    "PageTaskResponseItemsItem",
    "PageWebhookDeliveryResponse",
    "PageWebhookDeliveryResponseItemsItem",
    "PageWebhookResponse",
    "PageWebhookResponseItemsItem",
    "PasswordResetConfirmBody",
    "PasswordResetRequestBody",
    "Plan",
    "ProjectResponse",
    "RefreshTokenBody",
    "RegisterBody",
    "Role",
    "SessionResponse",
    "SubscriptionResponse",
    "TaskPriority",
    "TaskResponse",
    "TaskStatus",
    "TokenBody",
    "TokenResponse",
    "TransferOwnershipBody",
    "UpdateMeBody",
    "UpdateMemberBody",
    "UpdateOrganizationBody",
    "UpdateProjectBody",
    "UpdateSubscriptionBody",
    "UpdateTaskBody",
    "UpdateWebhookBody",
    "UsageResponse",
    "UserResponse",
    "WebhookDeliveryResponse",
    "WebhookResponse",
    "WebhookWithSecretResponse",
)
