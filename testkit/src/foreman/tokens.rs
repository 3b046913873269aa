//! Personal access tokens: `/api/users/:user_id/personal_access_tokens[/:id]`. A token is used as
//! the password of Basic authentication until it expires or is revoked (`DELETE` revokes, the
//! record stays). Its value is shown once, in the answer to its creation.
//!
//! As in Foreman, a user manages its own tokens (`:user_id` is its numeric id) without any
//! permission; for another user the `*_personal_access_tokens` permissions apply, and an unknown
//! `:user_id` is a 422 (`Couldn't find User with 'id'=x`).

use http::StatusCode;
use serde_json::Value;

use super::api::{Handler, as_text};
use super::db::{AccessToken, Id, numeric_id, parse_timestamp};
use super::errors::{ApiError, FieldError};
use super::rbac::Scope;
use super::views;

const TOKEN_ATTRIBUTES: &[&str] = &["name", "expires_at"];

impl Handler<'_, '_, '_> {
    /// The user of a token route, and the scope of `permission` over its tokens.
    fn token_owner(&self, key: &str, permission: &'static str) -> Result<(Id, Scope), ApiError> {
        if numeric_id(key) == Some(self.user) {
            return Ok((self.user, Scope::All));
        }
        let scope = self.require(permission)?;
        let user = numeric_id(key)
            .filter(|_| key.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|id| self.db.user(id))
            .ok_or_else(|| ApiError::Association {
                message: format!("Couldn't find User with 'id'={key}"),
            })?;
        Ok((user.id, scope))
    }

    fn find_token(&self, user: Id, key: &str, scope: &Scope) -> Result<usize, ApiError> {
        let ctx = self.ctx();
        numeric_id(key)
            .and_then(|id| {
                self.db
                    .tokens
                    .iter()
                    .position(|t| t.id == id && t.user_id == user && scope.allows(t, &ctx))
            })
            .ok_or_else(|| ApiError::not_found("personal_access_token", key))
    }

    pub(super) fn token_index(&mut self, user_key: &str) -> Result<(StatusCode, Value), ApiError> {
        let (user, scope) = self.token_owner(user_key, "view_personal_access_tokens")?;
        let ctx = self.ctx();
        let tokens: Vec<&AccessToken> = self
            .db
            .tokens
            .iter()
            .filter(|t| t.user_id == user && scope.allows(*t, &ctx))
            .collect();
        let (page, rows) = self.paginate(tokens, |a, b| a.id.cmp(&b.id))?;
        let results: Vec<Value> = rows.iter().map(|t| views::token(t, self.now)).collect();
        let count = results.len();
        self.index_time(count, false);
        Ok((StatusCode::OK, page.wrap(&results)))
    }

    pub(super) fn token_show(
        &mut self,
        user_key: &str,
        key: &str,
    ) -> Result<(StatusCode, Value), ApiError> {
        self.work.median = self.model.show;
        let (user, scope) = self.token_owner(user_key, "view_personal_access_tokens")?;
        let position = self.find_token(user, key, &scope)?;
        Ok((
            StatusCode::OK,
            views::token(&self.db.tokens[position], self.now),
        ))
    }

    pub(super) fn token_create(&mut self, user_key: &str) -> Result<(StatusCode, Value), ApiError> {
        self.work.median = self.model.rbac_write;
        let (user, _) = self.token_owner(user_key, "create_personal_access_tokens")?;
        self.check_media_type()?;
        let attrs = self.attributes("personal_access_token", TOKEN_ATTRIBUTES);
        let name = attrs.get("name").map(as_text).unwrap_or_default();
        self.work
            .begin_write(&format!("personal_access_token/new/{user}/{name}"))?;
        let mut errors: Vec<FieldError> = Vec::new();
        if name.trim().is_empty() {
            errors.push(("name".to_owned(), "can't be blank".to_owned()));
        } else if self
            .db
            .tokens
            .iter()
            .any(|t| t.user_id == user && t.name == name)
        {
            errors.push(("name".to_owned(), "has already been taken".to_owned()));
        }
        let expires_at = match attrs.get("expires_at").map(as_text) {
            None => None,
            Some(text) if text.trim().is_empty() => None,
            Some(text) => match parse_timestamp(&text) {
                Some(at) if at < self.now => {
                    errors.push(("expires_at".to_owned(), "cannot be in the past".to_owned()));
                    None
                }
                Some(at) => Some(at),
                None => {
                    errors.push((
                        "expires_at".to_owned(),
                        format!("Could not parse timestamp '{text}'"),
                    ));
                    None
                }
            },
        };
        if !errors.is_empty() {
            return Err(ApiError::Invalid { id: None, errors });
        }
        let token = AccessToken {
            id: self.db.next("personal_access_token"),
            user_id: user,
            name,
            value: self.db.new_token_value(),
            expires_at,
            revoked: false,
            last_used_at: None,
            created_at: self.now,
            updated_at: self.now,
        };
        let mut body = views::token(&token, self.now);
        if let Value::Object(map) = &mut body {
            map.insert("token_value".to_owned(), Value::from(token.value.as_str()));
        }
        self.db.tokens.push(token);
        Ok((StatusCode::CREATED, body))
    }

    pub(super) fn token_revoke(
        &mut self,
        user_key: &str,
        key: &str,
    ) -> Result<(StatusCode, Value), ApiError> {
        self.work.median = self.model.rbac_write;
        let (user, scope) = self.token_owner(user_key, "revoke_personal_access_tokens")?;
        let position = self.find_token(user, key, &scope)?;
        let id = self.db.tokens[position].id;
        self.work
            .begin_write(&format!("personal_access_token/{id}"))?;
        let now = self.now;
        let token = &mut self.db.tokens[position];
        token.revoked = true;
        token.updated_at = now;
        Ok((StatusCode::OK, views::token(token, now)))
    }
}
