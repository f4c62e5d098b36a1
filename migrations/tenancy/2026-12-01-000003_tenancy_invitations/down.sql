DROP TABLE tenancy_mail_outbox;
DROP TABLE invitations;
