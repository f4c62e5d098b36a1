DROP TABLE login_attempts;
DROP TABLE one_time_tokens;
DROP TABLE signing_keys;
DROP TABLE refresh_tokens;
DROP TABLE sessions;
DROP TABLE users;
