use super::{classify, keys, s, Store, StoreError};
use crate::domain::pricing::Offer;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct OfferItem {
    pk: String,
    sk: String,
    gsi1pk: String,
    gsi1sk: String,
    #[serde(flatten)]
    offer: Offer,
}

impl Store {
    /// Creates or replaces an offer.
    pub async fn put_offer(&self, offer: &Offer) -> Result<(), StoreError> {
        let item = OfferItem {
            pk: keys::offer_pk(&offer.code),
            sk: keys::OFFER_SK.into(),
            gsi1pk: keys::OFFERS_GSI1PK.into(),
            gsi1sk: offer.code.clone(),
            offer: offer.clone(),
        };
        self.client()
            .put_item()
            .table_name(self.table())
            .set_item(Some(serde_dynamo::to_item(&item)?))
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    pub async fn get_offer(&self, code: &str) -> Result<Option<Offer>, StoreError> {
        let out = self
            .client()
            .get_item()
            .table_name(self.table())
            .key(keys::PK, s(keys::offer_pk(code)))
            .key(keys::SK, s(keys::OFFER_SK))
            .send()
            .await
            .map_err(classify)?;
        Ok(match out.item {
            None => None,
            Some(item) => Some(serde_dynamo::from_item::<_, OfferItem>(item)?.offer),
        })
    }

    pub async fn list_offers(&self) -> Result<Vec<Offer>, StoreError> {
        let mut offers = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client()
                .query()
                .table_name(self.table())
                .index_name(keys::GSI1)
                .key_condition_expression("gsi1pk = :p")
                .expression_attribute_values(":p", s(keys::OFFERS_GSI1PK))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(classify)?;
            for item in out.items.unwrap_or_default() {
                offers.push(serde_dynamo::from_item::<_, OfferItem>(item)?.offer);
            }
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(offers),
            }
        }
    }
}
