use super::{build_err, keys, s, Store, StoreError, TransactOutcome};
use crate::domain::user::{Role, User};
use aws_sdk_dynamodb::types::{Put, TransactWriteItem, Update};
use serde::{Deserialize, Serialize};

/// Both the email item and the profile item have this shape; only the email item carries the hash.
#[derive(Serialize, Deserialize)]
struct UserItem {
    pk: String,
    sk: String,
    user_id: String,
    email: String,
    name: String,
    role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    company: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    password_hash: Option<String>,
    created_at: String,
}

impl UserItem {
    fn into_user(self) -> User {
        User {
            user_id: self.user_id,
            email: self.email,
            name: self.name,
            role: self.role,
            company: self.company,
            password_hash: self.password_hash.unwrap_or_default(),
            created_at: self.created_at,
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum CreateUser {
    Created,
    EmailTaken,
}

impl Store {
    /// Creates a user and claims its email in one transaction: two registrations of the same email
    /// (in any letter case) can never both succeed, and no scan is needed to check.
    pub async fn create_user(&self, user: &User) -> Result<CreateUser, StoreError> {
        let item = |pk: String, sk: &str, with_hash: bool| UserItem {
            pk,
            sk: sk.to_owned(),
            user_id: user.user_id.clone(),
            email: user.email.clone(),
            name: user.name.clone(),
            role: user.role,
            company: user.company.clone(),
            password_hash: with_hash.then(|| user.password_hash.clone()),
            created_at: user.created_at.clone(),
        };
        let email_item = item(keys::email_pk(&user.email), keys::EMAIL_SK, true);
        let profile_item = item(keys::user_pk(&user.user_id), keys::USER_SK, false);
        let put = |it: &UserItem| -> Result<TransactWriteItem, StoreError> {
            let put = Put::builder()
                .table_name(self.table())
                .set_item(Some(serde_dynamo::to_item(it)?))
                .condition_expression("attribute_not_exists(pk)")
                .build()
                .map_err(super::build_err)?;
            Ok(TransactWriteItem::builder().put(put).build())
        };
        match self
            .transact(vec![put(&email_item)?, put(&profile_item)?])
            .await?
        {
            TransactOutcome::Committed { .. } => Ok(CreateUser::Created),
            TransactOutcome::ConditionFailed { .. } => Ok(CreateUser::EmailTaken),
        }
    }

    /// Brings a stored account's role, name and password hash in line with `user` (the email
    /// item holds the hash and the role login reads; the profile item the role and name), in one
    /// transaction. Both items must exist.
    pub async fn update_account(&self, user: &User) -> Result<(), StoreError> {
        let role: aws_sdk_dynamodb::types::AttributeValue =
            serde_dynamo::to_attribute_value(user.role)?;
        let update =
            |pk: String, sk: &str, with_hash: bool| -> Result<TransactWriteItem, StoreError> {
                let mut u = Update::builder()
                    .table_name(self.table())
                    .key(keys::PK, s(pk))
                    .key(keys::SK, s(sk.to_owned()))
                    .condition_expression("attribute_exists(pk) AND user_id = :u")
                    .expression_attribute_names("#role", "role")
                    .expression_attribute_names("#name", "name")
                    .expression_attribute_values(":u", s(user.user_id.clone()))
                    .expression_attribute_values(":r", role.clone())
                    .expression_attribute_values(":n", s(user.name.clone()));
                u = if with_hash {
                    u.update_expression("SET #role = :r, #name = :n, password_hash = :h")
                        .expression_attribute_values(":h", s(user.password_hash.clone()))
                } else {
                    u.update_expression("SET #role = :r, #name = :n")
                };
                Ok(TransactWriteItem::builder()
                    .update(u.build().map_err(build_err)?)
                    .build())
            };
        let items = vec![
            update(keys::email_pk(&user.email), keys::EMAIL_SK, true)?,
            update(keys::user_pk(&user.user_id), keys::USER_SK, false)?,
        ];
        match self.transact(items).await? {
            TransactOutcome::Committed { .. } => Ok(()),
            TransactOutcome::ConditionFailed { .. } => Err(StoreError::Other(
                "the account changed while it was updated".into(),
            )),
        }
    }

    /// The user with this (normalized) email, with its password hash.
    pub async fn find_user_by_email(
        &self,
        normalized_email: &str,
    ) -> Result<Option<User>, StoreError> {
        let item: Option<UserItem> = self
            .get_as(keys::email_pk(normalized_email), keys::EMAIL_SK, false)
            .await?;
        Ok(item.map(UserItem::into_user))
    }

    /// The profile (no password hash) by id.
    pub async fn get_user(&self, user_id: &str) -> Result<Option<User>, StoreError> {
        let item: Option<UserItem> = self
            .get_as(keys::user_pk(user_id), keys::USER_SK, false)
            .await?;
        Ok(item.map(UserItem::into_user))
    }
}
